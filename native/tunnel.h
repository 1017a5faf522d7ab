// The byte path of the domain proxy's tunnels (lib/proxy/main.ts): a CONNECT
// or SOCKS5 connection the proxy has checked is handed over here and spliced
// to its upstream by the addon's tunnel thread, kernel to kernel, off the event loop.
#pragma once
#include <string>

// Dups `client` (the caller closes its own fd), starts a connect to
// address:port without blocking and hands both to the tunnel thread, which
// sends `ok` (or `failed` if the connect fails) to the client and `head`
// upstream, then splices both ways until both ends are done. 0 (also when the
// connect failed at once: the client got `failed`), or an errno (EINVAL: not
// an IP address; then nothing was sent).
int sbx_tunnel(int client, const std::string &address, int port, const std::string &head,
               const std::string &ok, const std::string &failed);

#include <functional>
#include <stddef.h>
#include <stdint.h>

// Called on the tunnel thread with each accepted connection's id and its
// first bytes: a whole CONNECT head (and any bytes after it), up to
// `max_head` bytes and one more, or the first bytes of anything that is not a CONNECT.
using TunnelHeadSink = std::function<void(uint64_t id, std::string bytes)>;

// The tunnel thread accepts on `listen_fd` (the proxy's HTTP port) from now
// on. 0, or an errno (EBUSY: already listening).
int sbx_tunnel_listen(int listen_fd, size_t max_head, TunnelHeadSink sink);

// Starts the tunnel of connection `id` as sbx_tunnel does (`head`: the bytes
// after its request head). 0, or an errno, and then `id` can still be taken.
int sbx_tunnel_start(uint64_t id, const std::string &address, int port, const std::string &head,
                     const std::string &ok, const std::string &failed);

// The fd of connection `id`, now the caller's (to answer it or serve it
// otherwise), or -ENOENT.
int sbx_tunnel_take(uint64_t id);
