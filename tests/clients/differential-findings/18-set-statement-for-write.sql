-- SET STATEMENT ... FOR INSERT is a write, but is not tracked for read-your-writes.
-- direct: 6   proxy: 5                           (seed 279)
-- needs: --pause-replication
SET STATEMENT sql_mode = '' FOR INSERT INTO t1 (k, s) VALUES (63, 'w3')
SELECT COUNT(*) FROM t1
