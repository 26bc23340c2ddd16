-- SHOW WARNINGS inside a multi-statement runs on the master, not where the previous statement
-- ran.   direct: Warning 1365   proxy: (empty)      (seed 1105)
!opts multi=1
SELECT id FROM t1 WHERE id = 9; SELECT 1/0
SHOW WARNINGS LIMIT 1; SET insert_id = 141
