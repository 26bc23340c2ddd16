-- Under replication lag a READ ONLY transaction is split: START TRANSACTION READ ONLY runs on
-- the lagging replica, the reads then fall back to the master, outside any transaction
-- (@@in_transaction 0, status 0x2 instead of 0x2003, no consistent snapshot).  (seeds 37, 96, 105)
-- needs: --pause-replication
INSERT INTO t1 (k, s) VALUES (77, 'x')
START TRANSACTION READ ONLY
SELECT @@in_transaction
SELECT COUNT(*) FROM t1
COMMIT
