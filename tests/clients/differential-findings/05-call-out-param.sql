-- CALL runs on the master; the OUT parameter's @var is then read on a replica.
-- direct: 42 / 5   proxy: NULL / NULL        (seeds 47, 49, 59, 74, 102, 156, 159, 190, 191, 212)
CALL p_out(@o)
SELECT @o
CALL p_cnt(@pc)
SELECT @pc
