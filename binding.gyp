{
  "variables": { "sbx_flags": ["-Wall", "-Wextra", "-fvisibility=hidden", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-O2"] },
  "targets": [
    {
      "target_name": "sbx_native",
      "sources": ["native/binding.cc", "native/spawn.cc", "native/spawn_sync.cc", "native/handoff.cc", "native/reaper.cc", "native/fsops.cc", "native/glibcxx_compat.cc", "native/tunnel.cc", "native/tunnel_heads.cc", "native/pool.cc", "native/recheck.cc", "native/seccomp_self.cc", "native/die_with_parent.cc", "native/git_walk.cc", "native/git_watch.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      # An error thrown by a method while a worker thread is being terminated cannot reach JavaScript:
      # dropped, rather than aborting the whole process (a pool refill can run then: test/node-integration).
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["<@(sbx_flags)", "-std=c++17"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "sbx-helper",
      "type": "executable",
      "sources": ["native/helper/main.cc", "native/helper/ops_mount.cc", "native/helper/ops_landlock.cc", "native/helper/ops_process.cc", "native/helper/probe.cc", "native/helper/paths.cc", "native/helper/ops_seccomp.cc", "native/helper/handoff.cc", "native/helper/ops_tty.cc", "native/helper/fdpass.cc", "native/helper/order.cc", "native/helper/procfs.cc", "native/helper/ops_fork.cc", "native/helper/ops_proxy.cc", "native/helper/proxy_jail.cc", "native/helper/proxy_connect.cc", "native/helper/ops_pool.cc", "native/helper/terminal.cc",
                  "native/helper/supervisor/listener.cc", "native/helper/supervisor/serve.cc", "native/helper/supervisor/decode.cc", "native/helper/supervisor/checks.cc", "native/helper/supervisor/git_control.cc", "native/helper/supervisor/git_state.cc",
                  "native/helper/supervisor/metadata.cc", "native/helper/supervisor/names.cc", "native/helper/supervisor/open.cc", "native/helper/supervisor/fifo.cc", "native/helper/supervisor/violations.cc",
                  "native/helper/supervisor/tty.cc", "native/helper/supervisor/requester.cc", "native/helper/supervisor/memory.cc",
                  "native/helper/supervisor/unix_peers.cc", "native/helper/supervisor/connect.cc", "native/helper/supervisor/send.cc", "native/helper/supervisor/blocking.cc", "native/helper/supervisor/fscache.cc", "native/helper/supervisor/guard_trees.cc", "native/helper/supervisor/foreign_procfs.cc", "native/helper/supervisor/mountinfo.cc", "native/helper/supervisor/pins.cc"],
      # -Werror=switch: a step or supervised syscall of protocol/ that a switch does not handle is a build error.
      "cflags_cc": ["<@(sbx_flags)", "-std=c++17", "-pthread", "-Werror=switch"],
      "cflags_cc!": ["-fno-exceptions"],
      # Static PIE: needs no shared library at all, so the glibc floor (scripts/check-glibc.js)
      # does not apply to it and it runs in any mount layout.
      "ldflags": ["-static-pie", "-pthread"]
    }
  ]
}
