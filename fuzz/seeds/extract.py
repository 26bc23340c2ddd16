# Turns the connections mitm.py recorded into seed files under fuzz/corpus/.
import pickle, glob, os, struct, collections, hashlib, sys
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
CONNS = sys.argv[1] if len(sys.argv) > 1 else "conns"
for t in ("packet_framer", "handshake_response", "command_packet", "classifier"):
    os.makedirs(f"{OUT}/{t}", exist_ok=True)
NAMES = {0x01:"quit",0x02:"init_db",0x03:"query",0x0e:"ping",0x11:"change_user",0x16:"stmt_prepare",
         0x17:"stmt_execute",0x18:"stmt_send_long_data",0x19:"stmt_close",0x1a:"stmt_reset",0x1c:"stmt_fetch",0x1f:"reset_connection"}
EXPECT = {0x03:0, 0x17:1, 0x1c:2}  # query: text results, execute: binary, fetch: rows; else single
DEPRECATE_EOF = 1 << 24
def packets(chunks):
    """(dir, framed bytes) per physical packet, in arrival order."""
    bufs = {"c": b"", "s": b""}; out = []
    for d, data in chunks:
        bufs[d] += data
        b = bufs[d]
        while len(b) >= 4:
            n = int.from_bytes(b[:3], "little")
            if len(b) < 4 + n: break
            out.append((d, b[:4+n])); b = b[4+n:]
        bufs[d] = b
    return out
client_of = {}
written = collections.Counter()
hashes = set()
def save(target, name, data, limit=None):
    key = (target, name)
    h = hashlib.sha1(data[1:] if target == "packet_framer" else data).hexdigest()[:8]
    if (target, h) in hashes: return
    if limit and written[key] >= limit: return
    hashes.add((target, h))
    written[key] += 1
    with open(f"{OUT}/{target}/{name}-{h}", "wb") as f: f.write(data)
seen_sql = set()
for i, path in enumerate(sorted(glob.glob(f"{CONNS}/*.pickle"))):
    log = pickle.load(open(path, "rb"))
    pk = packets(log)
    greet = pk[0][1][4:]
    v_end = greet.index(b"\0", 1)
    p = v_end + 1 + 4 + 8 + 1
    scaps = struct.unpack("<H", greet[p:p+2])[0] | (struct.unpack("<H", greet[p+5:p+7])[0] << 16)
    resp = pk[1][1][4:]
    ccaps = struct.unpack("<I", resp[:4])[0]
    # client name from connect attrs, for file names
    who = "sysbench" if b"sbtest\0" in resp[:80] else "pymysql" if b"pymysql" in resp else "connector-python" if b"mysql-connector" in resp else \
          "sysbench" if b"sysbench" in resp else "mariadb-cli"
    deo = bool(scaps & ccaps & DEPRECATE_EOF)
    save("handshake_response", f"{who}-login", resp, limit=2)
    # auth phase ends at the server's OK
    j = 2
    while j < len(pk) and not (pk[j][0] == "s" and pk[j][1][4] in (0x00, 0xFF)):
        j += 1
    j += 1
    cmds = []  # (payload, [server packets])
    for d, f in pk[j:]:
        if d == "c" and f[3] == 0:
            cmds.append([f[4:], [], [f]])
        elif cmds:
            (cmds[-1][1] if d == "s" else cmds[-1][2]).append(f)
    client_stream = b"".join(b"".join(c[2]) for c in cmds[:6])
    save("packet_framer", f"{who}-client-commands", bytes([0x02]) + client_stream, limit=1)
    for k, (payload, resp_pk, _) in enumerate(cmds):
        cmd = payload[0]; name = NAMES.get(cmd, f"cmd{cmd:02x}")
        save("command_packet", f"{who}-{name}", payload, limit=3)
        if cmd in (0x03, 0x16):
            sql = payload[1:]
            if sql not in seen_sql and len(sql) < 2000:
                seen_sql.add(sql)
                save("classifier", f"{who}-{name}", sql, limit=30)
        if resp_pk:
            raw = b"".join(resp_pk)
            if len(raw) > 3000: continue
            cfg = (EXPECT.get(cmd, 3) << 5) | (0x80 if deo else 0) | (k % 16)
            save("packet_framer", f"{who}-{name}-response", bytes([cfg]) + raw, limit=30 if who == "mariadb-cli" else 3)
for k, v in sorted(written.items()): print(k, v)
