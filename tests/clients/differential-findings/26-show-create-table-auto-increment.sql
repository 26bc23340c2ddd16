-- SHOW CREATE TABLE from a replica shows the replica's AUTO_INCREMENT, which does not count
-- rolled-back or failed inserts on the master. Inherent to replicas; the master would answer
-- like a direct connection.   direct: AUTO_INCREMENT=7   proxy: AUTO_INCREMENT=6   (seed 251)
!opts autocommit=0
INSERT INTO t2 (t1_id, note) VALUES (1, 'rolled back')
ROLLBACK
!autocommit 1
SHOW CREATE TABLE t2
