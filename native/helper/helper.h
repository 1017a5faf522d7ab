// The helper executes a plan written by lib/plan.ts. It knows no policy: each
// step names one mechanical operation and its arguments. The steps, their
// arguments and the files that run them are listed in protocol/plan-steps.json.
#pragma once
#include "gen/plan_steps.h"
#include "supervisor/supervisor.h"
#include <map>
#include <set>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <string>
#include <utility>
#include <vector>

struct Step {
  StepOp op;
  std::vector<std::string> args;  // as many as the table allows: checked when the plan is read
};

// The terminal on stdin and the pty node the sandbox keeps of it.
struct Terminal {
  int fd = -1;       // the terminal on stdin, kept by tty_save
  pid_t owner = -1;  // its foreground process group before the command took it
  int tree = -1;     // tty_clone: detached bind of the host pty node on stdin
  int index = -1;    // its N
  int master = -1;   // tty_place: holds /dev/pts/N in the sandbox's instance for as long as the sandbox lives
};

// All the state of one run: each step reads and changes only this.
struct Run {
  std::vector<Step> steps;
  size_t current = 0;                       // index of the step being executed
  uint64_t ran = 0;                         // step_bit()s of the steps that have run (order.cc)
  int error_fd = -1;                        // reports {step, errno, detail}; CLOEXEC at exec
  int events_fd = -1;                       // init's events to the caller (protocol/events.json); -1: none
  std::map<unsigned long long, int> slots;  // detached mount trees from clone_tree, by slot number
  std::set<unsigned long long>
      read_only_slots;      // slots setattr_slot made read-only, nosuid, nodev (pin_from's sources)
  std::string scratch_dir;  // where scratch_begin mounted the tmpfs masks are made in
  int scratch_count = 0;    // masks made there so far
  int ruleset_fd = -1;      // Landlock ruleset under construction
  std::vector<std::string> env;
  // path -> (st_dev, st_ino) the planner saw (expect_ids step)
  std::map<std::string, std::pair<unsigned long long, unsigned long long>> expected;
  Terminal tty;
  int ns_dir_fd = -1;  // report_started: the helper's own /proc/PID/ns, which the monitor reads the ids from
                       // at pidns_fork
  int status_write_fd = -1;  // init's end of the monitor's socket (pidns_fork), written when the command ends
  bool forward_stops = false;  // command_fork forward-stops: job control belongs to the caller
  Supervisor supervisor;       // the supervise step's configuration and sockets
  int proxy_fd = -1;  // proxy_fork: the monitor's end of the network proxy's control socket (ops_proxy.cc)
  int proxy_status_fd = -1;  // proxy_fork: EOF once the proxy was exec'd, else why not (proxy_ready)
  bool pins_gone = false;    // a pin gone-ok found its path gone: init must refuse making it (command_fork)

  bool has_run(StepOp op) const { return ran & step_bit(op); }
};

// A failed step: reports it on the error pipe and exits 125. Never returns.
[[noreturn]] void fail(Run &run, int err, const std::string &detail);
// The same with another exit status: a command that cannot be exec'd ends 127 / 126, as in shells.
[[noreturn]] void fail_exit(Run &run, int err, const std::string &detail, int status);

// handoff.cc: `--handoff PID PLAN_FD REPORT_FD` (argv after the flag): 0, or an errno and why.
int open_handoff(char **argv, int *plan_fd, int *report_fd, std::string *why);

// The step_<op> functions that run each step are declared in gen/step_dispatch.h.

// supervisor/listener.cc: init answers the syscalls the filter sends it (docs/supervisor.md).
void supervisor_after_fork(Run &run, bool child);  // each side keeps its end of the socket
void supervisor_send_listener(Run &run, int fd);   // command -> init, before exec
int supervisor_poll_fd(const Run &run);            // -1: nothing to receive
bool supervisor_refuses_creation(const Run &run);  // init will see the command's mkdirat and openat
void supervisor_ready(Run &run);       // the poll fd is ready: receive the listener, start serving
void violations_start(int events_fd);  // where init's refusals are told (violations.cc)
void violations_flush();               // at the command's end: final counts, and how many were not listed

unsigned long long parse_num(Run &run, const std::string &s);

// ops_pool.cc: the monitor of a pooled sandbox (a plan with pool_wait) keeps
// its copy of the pool socket, -1 otherwise; handed over once the caller has
// sent the command and closed its end.
int pool_socket(const Run &run);
bool pool_handed_over(int ctl);

// main.cc: the plan's wire format. parse_plan appends the steps of `data` to `steps`
// (false: malformed); pool_wait (ops_pool.cc) reads a pooled sandbox's command this way.
std::string read_all(int fd);
bool parse_plan(Run &run, const std::string &data, std::vector<Step> &steps);

// order.cc: fails the step unless the steps it needs (protocol/plan-steps.json `after`) have run.
void check_order(Run &run, const Step &s);

// Plan arguments that carry bytes are hex (seccomp programs, data files):
// the bytes, or the step fails naming `what` (main.cc).
std::string hex_bytes(Run &run, const std::string &hex, const std::string &what);

// paths.cc: open a plan path as O_PATH without following symlinks; with
// check_id, fail the step unless it is still the inode the planner saw.
int open_plan_path(Run &run, const std::string &path, bool nofollow_last, bool check_id);
// The same, but -1 (errno ENOENT or ENOTDIR) when gone_ok and the path is gone.
int open_plan_path_or_gone(Run &run, const std::string &path, bool nofollow_last, bool check_id,
                           bool gone_ok);
// Fails the step unless the fd is the inode the planner saw at `path` (when it recorded one).
void check_plan_id(Run &run, int fd, const std::string &path);
// Whether it is (true when none was recorded); *st is the fd's stat either way.
bool plan_id_holds(Run &run, int fd, const std::string &path, struct stat *st);

int probe_userns();  // the --probe-userns mode (probe.cc)
int proxy_connect(const char *host,
                  const char *port);  // the --proxy-connect mode: ssh's ProxyCommand (proxy_connect.cc)
