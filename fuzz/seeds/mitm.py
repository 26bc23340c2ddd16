# Relays 127.0.0.1:LPORT -> 127.0.0.1:UPORT and records each connection's traffic as a list of
# (direction, bytes) chunks in /tmp/cap/conns/<n>.pickle. Client writes are forwarded one
# read at a time, so chunk order follows the exchange.
import socket, threading, sys, pickle, os, select
LPORT, UPORT, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(OUT, exist_ok=True)
n = [0]
def handle(c, idx):
    s = socket.create_connection(("127.0.0.1", UPORT))
    log = []
    socks = [c, s]
    try:
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                break
            done = False
            for x in r:
                d = x.recv(1 << 20)
                if not d:
                    done = True
                    break
                if x is c:
                    log.append(("c", d)); s.sendall(d)
                else:
                    log.append(("s", d)); c.sendall(d)
            if done:
                break
    finally:
        with open(f"{OUT}/{idx:04d}.pickle", "wb") as f:
            pickle.dump(log, f)
        c.close(); s.close()
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", LPORT)); l.listen(16)
while True:
    c, _ = l.accept(); n[0] += 1
    threading.Thread(target=handle, args=(c, n[0]), daemon=True).start()
