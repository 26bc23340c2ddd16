-- /* rwsplit:replica */ sends session-dependent reads to a replica: LAST_INSERT_ID(),
-- IS_USED_LOCK()/IS_FREE_LOCK() of the session's own lock, temporary tables. (The README lists
-- writes, locking reads, lock-taking reads and @var assignments as exceptions, not these.)
-- direct: 6 / 1 0 / 0   proxy: 0 / 0 1 / 1146        (seeds 100, 1451, 1577, 1641)
INSERT INTO t1 (k, s) VALUES (61, 'x')
/* rwsplit:replica */ SELECT LAST_INSERT_ID()
SELECT GET_LOCK('{LK}a', 0)
/* rwsplit:replica */ SELECT IS_USED_LOCK('{LK}a') IS NOT NULL, IS_FREE_LOCK('{LK}a')
CREATE TEMPORARY TABLE tmp1 (id INT)
/* rwsplit:replica */ SELECT COUNT(*) FROM tmp1
