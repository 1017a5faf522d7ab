// The byte path of the domain proxy's tunnels (lib/proxy/main.ts): a CONNECT
// or SOCKS5 connection the proxy has checked is handed over here and spliced
// to its upstream by the addon's tunnel thread, kernel to kernel, off the event loop.
#pragma once
#include <string>

// Dups `client` (the caller closes its own fd) and hands it to the tunnel
// thread, which connects to address:port without blocking, sends `ok` (or
// `failed` if the connect fails) to the client and `head` upstream, then
// splices both ways until both ends are done. 0, or an errno (EINVAL: not an
// IP address; then nothing was sent).
int sbx_tunnel(int client, const std::string &address, int port, const std::string &head,
               const std::string &ok, const std::string &failed);
