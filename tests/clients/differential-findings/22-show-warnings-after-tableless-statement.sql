-- A statement that uses no table does not clear the server's diagnostics, so SHOW WARNINGS
-- after it still lists the previous statement's error. Through the proxy the table-less
-- SELECT ran on a replica and SHOW WARNINGS follows it there.
-- direct: Error 1062 (and 1146 for SHOW ERRORS)   proxy: (empty)   (seeds 307, 1740)
SET sql_mode = 'ANSI_QUOTES'
INSERT INTO t1 (id, k) VALUES (6, 50)
INSERT INTO t1 (id, k) VALUES (1, 10)
SELECT 1/0
SHOW WARNINGS
