# For benchmark/items/unix-sockets.js: N connects to a unix listener this
# process bound in DIR, non-blocking and then blocking (each accepted and
# closed), timed inside the process. Prints one JSON line of µs per connect.
import json, os, socket, sys, time

d, n = sys.argv[1], int(sys.argv[2])
path = os.path.join(d, 'bench-py-%d.sock' % os.getpid())
s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(4096)
out = {}
for blocking in (False, True):
    t = time.perf_counter()
    for _ in range(n):
        c = socket.socket(socket.AF_UNIX); c.setblocking(blocking)
        try: c.connect(path)
        except BlockingIOError: pass
        a, _ = s.accept(); a.close(); c.close()
    out['blocking' if blocking else 'nonblocking'] = (time.perf_counter() - t) / n * 1e6
os.unlink(path)
print(json.dumps(out))
