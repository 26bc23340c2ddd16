-- SET autocommit = 1 commits the open transaction; the next read goes to a replica without
-- waiting for that commit.     direct: row 6 present   proxy: missing       (seed 20)
-- needs: --pause-replication (without it: whenever the replica is a little behind)
!opts autocommit=0
INSERT INTO t1 (k, s) VALUES (66, 'w')
SET autocommit = 1
SELECT id, k FROM t1 ORDER BY id
