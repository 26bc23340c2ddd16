-- SET TRANSACTION READ ONLY (without SESSION) applies to the next transaction only; the proxy
-- records it and replays it before every later statement, so every later write fails and
-- every later BEGIN opens a read-only transaction.
-- direct: OK, OK, status 0x3   proxy: 1792, 1792, status 0x2003     (seeds 661, 833)
SET TRANSACTION READ ONLY
SELECT COUNT(*) FROM t1
INSERT INTO t4 (v) VALUES (4)
INSERT INTO t4 (v) VALUES (5)
BEGIN
COMMIT
