# Writes the hand-made seeds (fuzz/corpus/*/hand-*): what the captured clients never send.
import struct, os
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
def save(t, name, data):
    if isinstance(data, str): data = data.encode()
    with open(f"{OUT}/{t}/hand-{name}", "wb") as f: f.write(data)
def lenenc(n):
    return bytes([n]) if n < 251 else b"\xfc" + struct.pack("<H", n) if n < 1 << 16 else b"\xfd" + struct.pack("<I", n)[:3]
def lstr(b): return lenenc(len(b)) + b
def frame(payloads, seq=1):
    out = b""
    for p in payloads:
        out += struct.pack("<I", len(p))[:3] + bytes([seq & 0xFF]) + p; seq += 1
    return out

# --- classifier: statements real applications send, and the lexical corners
stmts = {
 "wp-autoload": "SELECT option_name, option_value FROM wp_options WHERE autoload = 'yes'",
 "wp-calc-found-rows": "SELECT SQL_CALC_FOUND_ROWS  wp_posts.ID FROM wp_posts  WHERE 1=1  AND wp_posts.post_type = 'post' AND (wp_posts.post_status = 'publish')  ORDER BY wp_posts.post_date DESC LIMIT 0, 10",
 "wp-found-rows": "SELECT FOUND_ROWS()",
 "wp-insert-on-dup": "INSERT INTO `wp_options` (`option_name`, `option_value`, `autoload`) VALUES ('_transient_doing_cron', '1700000000.1234', 'yes') ON DUPLICATE KEY UPDATE `option_name` = VALUES(`option_name`), `option_value` = VALUES(`option_value`), `autoload` = VALUES(`autoload`)",
 "wp-escaped": "SELECT * FROM wp_posts WHERE post_title = 'Don\\'t stop; DELETE FROM x' LIMIT 1",
 "sysbench-point": "SELECT c FROM sbtest1 WHERE id=5023",
 "sysbench-update": "UPDATE sbtest1 SET k=k+1 WHERE id=5023",
 "sysbench-range": "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 4990 AND 5089 ORDER BY c",
 "dump-exec-comments": "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n/*!40101 SET NAMES utf8mb4 */;\n/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */",
 "dump-trigger": "/*!50003 CREATE*/ /*!50020 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg BEFORE INSERT ON t1 FOR EACH ROW BEGIN SET NEW.`update` = 'x'; END */;;",
 "mariadb-exec": "SELECT /*M!100101 1, */ 2 /*!99999 ; DELETE FROM t */",
 "hint-replica": "/* rwsplit:replica */ SELECT * FROM orders WHERE id = 7",
 "hint-master-line": "-- rwsplit:master\nSELECT @@hostname",
 "hint-hash": "# rwsplit : replica\nSHOW TABLES",
 "for-update": "SELECT * FROM t WHERE id = 1 /* lock */ FOR UPDATE",
 "lock-share": "select a from t lock\tin share\nmode",
 "into-var": "SELECT a INTO @`x` FROM t LIMIT 1",
 "get-lock": "SELECT GET_LOCK('job', 10), RELEASE_LOCK('job')",
 "with-delete": "WITH c AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM c)",
 "with-select": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r",
 "multi": "SELECT 1; SELECT 2; UPDATE t SET a = 'b;c' WHERE d = \"e'f\"",
 "temp-tables": "CREATE TEMPORARY TABLE IF NOT EXISTS `db`.`tmp``1` (a INT); DROP TEMPORARY TABLE tmp1, db.tmp2",
 "use": "USE `my db`",
 "set-mixed": "SET @a := 1, @@session.sql_mode = 'ANSI_QUOTES', GLOBAL max_connections = 10",
 "compound": "BEGIN NOT ATOMIC DECLARE x INT DEFAULT 0; SELECT 1; END",
 "create-proc": "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; ELSE UPDATE t SET a = 1; END IF; END",
 "kill": "KILL QUERY 12345",
 "show-global": "SHOW GLOBAL STATUS LIKE 'Threads%'",
 "explain-analyze": "EXPLAIN ANALYZE SELECT * FROM t",
 "unterminated": "SELECT 'abc",
 "non-utf8": b"SELECT '\xff\xfe' FROM t WHERE x = _latin1'\xe9'",
 "nested-parens": "(((SELECT 1) UNION (SELECT 2 FOR UPDATE)))",
 "sequence": "SELECT NEXT VALUE FOR s, s.NEXTVAL, LASTVAL(s)",
}
for k, v in stmts.items(): save("classifier", k, v)

# --- handshake responses built to the protocol's rules, for what the captured clients do not send
CLIENT = dict(LONG_PASSWORD=1, FOUND_ROWS=2, LONG_FLAG=4, CONNECT_WITH_DB=8, PROTOCOL_41=0x200,
              SSL=0x800, TRANSACTIONS=0x2000, SECURE_CONNECTION=0x8000, MULTI_STATEMENTS=1 << 16,
              MULTI_RESULTS=1 << 17, PS_MULTI_RESULTS=1 << 18, PLUGIN_AUTH=1 << 19, CONNECT_ATTRS=1 << 20,
              LENENC=1 << 21, SESSION_TRACK=1 << 23, DEPRECATE_EOF=1 << 24)
def caps(*names): return sum(CLIENT[n] for n in names)
def response(c, user=b"app", auth=b"\x11" * 20, db=None, plugin=b"mysql_native_password", attrs=None, charset=45):
    p = struct.pack("<IIB", c, 16 << 20, charset) + b"\0" * 23 + user + b"\0"
    if c & CLIENT["LENENC"]: p += lstr(auth)
    elif c & CLIENT["SECURE_CONNECTION"]: p += bytes([len(auth)]) + auth
    else: p += auth + b"\0"
    if c & CLIENT["CONNECT_WITH_DB"]: p += (db or b"") + b"\0"
    if c & CLIENT["PLUGIN_AUTH"]: p += plugin + b"\0"
    if c & CLIENT["CONNECT_ATTRS"]:
        kv = b"".join(lstr(k) + lstr(v) for k, v in (attrs or []))
        p += lstr(kv)
    return p
base = ("LONG_PASSWORD", "LONG_FLAG", "PROTOCOL_41", "TRANSACTIONS", "SECURE_CONNECTION", "MULTI_RESULTS")
jdbc_attrs = [(b"_client_name", b"MySQL Connector/J"), (b"_client_version", b"8.4.0"), (b"_runtime_vendor", b"Eclipse Adoptium"),
              (b"_os", b"Linux"), (b"_platform", b"amd64"), (b"_runtime_version", b"21.0.2")]
save("handshake_response", "jdbc-attrs-db", response(caps(*base, "CONNECT_WITH_DB", "PLUGIN_AUTH", "CONNECT_ATTRS", "LENENC", "DEPRECATE_EOF", "SESSION_TRACK"), db=b"shop", attrs=jdbc_attrs))
save("handshake_response", "no-plugin-auth", response(caps(*base)))
save("handshake_response", "empty-password", response(caps(*base, "PLUGIN_AUTH", "LENENC"), auth=b""))
save("handshake_response", "caching-sha2", response(caps(*base, "PLUGIN_AUTH", "LENENC", "CONNECT_WITH_DB"), auth=b"\x22" * 32, db=b"", plugin=b"caching_sha2_password"))
save("handshake_response", "ssl-request", struct.pack("<IIB", caps(*base, "SSL", "PLUGIN_AUTH"), 16 << 20, 45) + b"\0" * 23)
save("handshake_response", "pre-41", struct.pack("<HI", 0x0001 | 0x0004, 16 << 20)[:5] + b"old\0" + b"12345678\0")
save("handshake_response", "utf8-user-attrs", response(caps(*base, "PLUGIN_AUTH", "CONNECT_ATTRS", "LENENC"), user="jürgen".encode(), attrs=[(b"program_name", b"wp-cli"), (b"k" * 300, b"v")]))
# a backend auth challenge as respond() sees it: plugin NUL nonce
save("handshake_response", "switch-native", b"mysql_native_password\0" + b"abcdefghij0123456789\0")

# --- command packets the captured clients did not send
cu = b"\x11app\0" + bytes([20]) + b"\x09" * 20 + b"rwtest\0" + bytes([45, 0]) + b"mysql_native_password\0"
save("command_packet", "change-user", cu)
save("command_packet", "change-user-no-charset", b"\x11app\0\0\0")
save("command_packet", "stmt-fetch", b"\x1c" + struct.pack("<II", 1, 100))
save("command_packet", "process-kill", b"\x0c" + struct.pack("<I", 77))
save("command_packet", "set-option", b"\x1b\x01\x00")
save("command_packet", "field-list", b"\x04users\0%")
save("command_packet", "statistics", b"\x09")
save("command_packet", "kill-query", b"\x03KILL HARD QUERY 42;")
save("command_packet", "query-use", b"\x03use `fz`")
save("command_packet", "prepare-temp", b"\x16SELECT * FROM tmp1 WHERE a = ?")
save("command_packet", "execute-cursor-types", b"\x17" + struct.pack("<IBI", 1, 1, 1) + b"\x00\x01" + b"\x08\x00" + struct.pack("<q", 5))

# --- backend responses: the scanner's corner cases
coldef = b"\x03def\x00\x00\x00\x01a\x00\x0c\x3f\x00\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00"
eof = lambda st: b"\xfe\x00\x00" + struct.pack("<H", st)
ok = lambda st: b"\x00\x00\x00" + struct.pack("<H", st) + b"\x00\x00"
def fr(cfg, payloads): return bytes([cfg]) + frame(payloads)
TEXT, BINARY, ROWS, SINGLE, DEO, WHOLE = 0, 1 << 5, 2 << 5, 3 << 5, 0x80, 15
save("packet_framer", "more-results", fr(TEXT | 3, [b"\x01", coldef, eof(0x0A), b"\x011", eof(0x0A), b"\x01", coldef, eof(2), b"\x012", eof(2)]))
save("packet_framer", "deprecate-eof-ok-fe", fr(TEXT | DEO | 5, [b"\x01", coldef, b"\x011", b"\xfe\x00\x00\x03\x00\x00\x00"]))
save("packet_framer", "binary-cursor", fr(BINARY | WHOLE, [b"\x01", coldef, eof(0x42)]))
save("packet_framer", "fetch-rows-last", fr(ROWS | 1, [b"\x00\x00\x05", b"\x00\x00\x06", eof(0x82)]))
save("packet_framer", "err-progress", fr(SINGLE | WHOLE, [b"\xff\xff\xff\x01\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00"]))
save("packet_framer", "err-then-trailing", fr(TEXT | 2, [b"\xff\x28\x04#42000You have an error", b"junk"]))
save("packet_framer", "ok-session-track", fr(TEXT | WHOLE, [b"\x00\x00\x00\x02\x40\x00\x00" + lstr(lstr(b"\x00") + lstr(b"autocommit") + lstr(b"OFF"))]))
save("packet_framer", "too-large-header", bytes([TEXT | 0x10 | 4]) + b"\xe8\x03\x00\x01" + b"x" * 8)
save("packet_framer", "max-chunk-header", bytes([ROWS | 0x0F]) + b"\xff\xff\xff\x05" + b"\xfe" * 16)
save("packet_framer", "infile-then-ok", fr(TEXT | 0, [b"\xfb/tmp/x.csv", ok(2)]))
save("packet_framer", "seq-zero-commands", bytes([WHOLE]) + frame([b"\x03SELECT 1"], seq=0) + frame([b"\x0e"], seq=0) + frame([b"\x01"], seq=0))
