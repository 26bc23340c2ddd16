-- COM_RESET_CONNECTION makes the proxy forget the session's last write: the next read does
-- not wait for it.   direct: 6   proxy: 5         (seed 153)
-- needs: --pause-replication
INSERT INTO t1 (k, s) VALUES (61, 'w1')
!reset
SELECT COUNT(*) FROM t1
