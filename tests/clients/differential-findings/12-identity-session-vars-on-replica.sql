-- The last insert id of the session is read on a replica when asked for other than by
-- LAST_INSERT_ID() / @@identity: SHOW VARIABLES LIKE 'identity' (or 'last_insert_id') and
-- sql_auto_is_null's "WHERE id IS NULL".  (SELECT @@identity itself goes to the master.)
-- direct: 6 / row 6   proxy: 0 / no row      (seeds 14, 33, 122, 270, 369)
INSERT INTO t1 (k, s) VALUES (61, 'x')
SELECT COUNT(*) FROM t2
SHOW VARIABLES LIKE 'identity'
SET SESSION sql_auto_is_null = 1
SELECT id, k FROM t1 WHERE id IS NULL
