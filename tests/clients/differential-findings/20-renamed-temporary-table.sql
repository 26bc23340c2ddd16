-- A temporary table renamed with ALTER TABLE ... RENAME is no longer known as temporary: reads
-- of the new name go to a replica.   direct: 5   proxy: 1146     (seeds 1451, 1774)
CREATE TEMPORARY TABLE tmp2 AS SELECT id, k AS v FROM t1
ALTER TABLE tmp2 RENAME TO tmp2_r
SELECT COUNT(*) FROM tmp2_r
