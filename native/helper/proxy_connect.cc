// `sbx-helper --proxy-connect HOST PORT`: ssh's ProxyCommand inside a sandbox
// with domain lists (docs/policy.md, Network). Asks the sandbox's proxy for
// a CONNECT tunnel to HOST:PORT, then relays stdin to it and it to stdout,
// so git over ssh needs no socat or nc.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

const uint16_t kHttpProxyPort = 3128;  // lib/proxy/plan.ts HTTP_PROXY_PORT

bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

}  // namespace

int proxy_connect(const char *host, const char *port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(kHttpProxyPort);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    fprintf(stderr, "sbx-native: cannot reach the sandbox's proxy at 127.0.0.1:%u: %s\n", kHttpProxyPort,
            strerror(errno));
    return 1;
  }
  std::string h = host;
  if (h.find(':') != std::string::npos && h[0] != '[') h = "[" + h + "]";
  std::string req = "CONNECT " + h + ":" + port + " HTTP/1.1\r\nHost: " + h + ":" + port + "\r\n\r\n";
  if (!write_all(s, req.data(), req.size())) return 1;
  // The answer's head, byte by byte: nothing of the tunnel may be read past it.
  std::string head;
  char c;
  while (head.size() < 8192 && head.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = read(s, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    head += c;
  }
  if (head.compare(0, 9, "HTTP/1.1 ") != 0 || head.compare(9, 3, "200") != 0) {
    std::string body;
    char buf[4096];
    ssize_t n;
    while ((n = read(s, buf, sizeof buf)) > 0 && body.size() < 4096) body.append(buf, (size_t)n);
    std::string status = head.substr(0, head.find("\r\n"));
    fprintf(stderr, "sbx-native: the proxy refused %s:%s: %s\n%s", host, port,
            status.empty() ? "no answer" : status.c_str(), body.c_str());
    return 1;
  }
  struct pollfd p[2] = {{0, POLLIN, 0}, {s, POLLIN, 0}};
  char buf[65536];
  bool in_open = true;
  for (;;) {
    p[0].fd = in_open ? 0 : -1;
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p[0].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        in_open = false;
        shutdown(s, SHUT_WR);
      } else if (!write_all(s, buf, (size_t)n))
        return 1;
    }
    if (p[1].revents) {
      ssize_t n = read(s, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      if (!write_all(1, buf, (size_t)n)) return 1;
    }
  }
}
