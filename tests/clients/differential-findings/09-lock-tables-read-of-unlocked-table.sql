-- Under LOCK TABLES a read of a table that is not locked is an error on the server; through
-- the proxy it is served by a replica.   direct: 1100   proxy: a result   (seeds 68, 86, 174, 206, 265, 283, 299)
LOCK TABLES t1 READ
SELECT COUNT(*) FROM t2
UNLOCK TABLES
