-- GET DIAGNOSTICS assigns @vars on the master; later reads of them go to a replica.
-- direct: 1062   proxy: NULL                       (seeds 118, 181)
INSERT INTO t1 (id, k) VALUES (1, 50)
GET DIAGNOSTICS CONDITION 1 @de = MYSQL_ERRNO, @dm = MESSAGE_TEXT
SELECT @de
