-- A recorded SET is replayed by re-evaluating its expression on the other backend, later:
-- UUID()/RAND()/SYSDATE(), FOUND_ROWS(), ROW_COUNT() (seeds 353, 482, 502 / 107, 137, 500 /
-- 146, 266, 294).   direct: 1 / 5   proxy: 0 / 1
SET @nd = CONCAT(UUID())
INSERT INTO nd (v) VALUES (@nd)
SELECT COUNT(*) FROM nd WHERE v = @nd
SELECT SQL_CALC_FOUND_ROWS id FROM t1 ORDER BY id LIMIT 1
SET @f = FOUND_ROWS()
INSERT INTO t2 (t1_id, note) VALUES (@f, 'fr')
SELECT t1_id FROM t2 WHERE note = 'fr'
