-- SELECT NEXTVAL(s) / SETVAL(s, n) write the sequence (and run on the master) but are not
-- tracked for read-your-writes.   direct: 110 / 501   proxy: 100 / 100    (seed 3492)
-- needs: --pause-replication
SELECT NEXTVAL(s1)
SELECT next_not_cached_value FROM s1
SELECT SETVAL(s1, 500)
SELECT next_not_cached_value FROM s1
