-- START TRANSACTION READ ONLY runs as a whole on a replica, which changes what happens inside:
-- a write gets 1290 (read-only server) instead of 1792; a statement with an implicit commit
-- (DROP TABLE IF EXISTS, CREATE TABLE IF NOT EXISTS, TRUNCATE) fails with 1290 instead of
-- committing and running; temporary tables do not exist there (1146); LAST_INSERT_ID() and
-- @@identity are 0.   (seeds 1, 29, 44, 50, 70, 100, 123, 180, 186, 202, 267 ...)
INSERT INTO t2 (t1_id, note) VALUES (1, 'x')
CREATE TEMPORARY TABLE tmp1 (id INT AUTO_INCREMENT PRIMARY KEY, v INT)
START TRANSACTION READ ONLY
DELETE FROM t2 WHERE id = 3
SELECT LAST_INSERT_ID(), @@identity
SELECT COUNT(*) FROM tmp1
DROP TABLE IF EXISTS no_such_t
SELECT @@in_transaction
