-- A write inside a multi-statement that starts with a SELECT is not tracked for
-- read-your-writes.   direct: 6   proxy: 5          (seeds 153, 663, 701)
-- needs: --pause-replication
!opts multi=1
SELECT 1; INSERT INTO t1 (k, s) VALUES (62, 'w2')
SELECT COUNT(*) FROM t1
