// The tunnel thread's epoll set, shared by the tunnels (tunnel.cc) and the
// connections whose request head it reads (tunnel_heads.cc). Everything in
// the set is touched only by that thread once it is added.
#pragma once
#include <stdint.h>
#include <string>

// What an epoll event's data names.
struct TunnelWatched {
  virtual ~TunnelWatched() = default;
  virtual void on_event(uint32_t events) = 0;
};

// The epoll fd, starting the thread on the first call; -errno if it cannot.
int tunnel_epoll();

// Deleted after the current batch of events (a later event of it may name `w`).
// Tunnel thread only.
void tunnel_retire(TunnelWatched *w);

// Starts a tunnel on `client`, which it owns from then on: 0 (also when the
// connect failed at once: the client got `failed` and is closed), or an
// errno, and then `client` is still the caller's.
int tunnel_begin(int client, const std::string &address, int port, const std::string &head,
                 const std::string &ok, const std::string &failed);
