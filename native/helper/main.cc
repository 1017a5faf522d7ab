// sbx-helper: started by the addon (native/spawn.cc) with
//   argv = { "sbx-helper", PLAN_FD, ERROR_FD [, EVENTS_FD] }
// or by another spawner, for wrap() (handoff.cc), with
//   argv = { "sbx-helper", "--handoff", PARENT_PID, PLAN_FD, REPORT_FD }
// and an empty environment, so LD_PRELOAD & co. set by the caller never reach
// it. It reads the plan, then runs the steps in order. Steps that fork
// (pidns_fork, command_fork) leave the parent behind as monitor / init; the
// child continues with the next step. The last step, exec, replaces the
// process with the command.
#include "helper.h"
#include "gen/step_dispatch.h"
#include "../gen/error_report.h"
#include <errno.h>
#include <iterator>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, n);
    off += n;
  }
  return out;
}

// Plan encoding: NUL-terminated strings: op, argument count, arguments...
// A step the table does not have, or with a number of arguments it does not
// allow, fails the plan before anything ran (reported as that step).
bool parse_plan(Run &run, const std::string &data, std::vector<Step> &steps) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\0', pos);
    if (end == std::string::npos) return false;
    fields.emplace_back(data, pos, end - pos);
    pos = end + 1;
  }
  for (size_t i = 0; i < fields.size();) {
    if (i + 1 >= fields.size()) return false;
    Step s;
    char *endp = nullptr;
    unsigned long n = strtoul(fields[i + 1].c_str(), &endp, 10);
    if (*endp || i + 2 + n > fields.size()) return false;
    run.current = steps.size();
    const StepSpec *spec = find_step(fields[i]);
    if (!spec) fail(run, EINVAL, "unknown plan step: " + fields[i]);
    if (n < spec->min_args || n > spec->max_args)
      fail(run, EINVAL, fields[i] + ": wrong number of arguments (" + std::to_string(n) + ")");
    s.op = spec->op;
    s.args.assign(std::make_move_iterator(fields.begin() + i + 2),
                  std::make_move_iterator(fields.begin() + i + 2 + n));
    steps.push_back(std::move(s));
    i += 2 + n;
  }
  return true;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string hex_bytes(Run &run, const std::string &hex, const std::string &what) {
  if (hex.size() % 2 != 0) fail(run, EINVAL, what + ": an odd number of hex digits");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) fail(run, EINVAL, what + ": not hex");
    out[i] = (char)(hi << 4 | lo);
  }
  return out;
}

void fail(Run &run, int err, const std::string &detail) { fail_exit(run, err, detail, 125); }

void fail_exit(Run &run, int err, const std::string &detail, int status) {
  ErrorReport r;
  memset(&r, 0, sizeof r);
  r.step = run.current == (size_t)-1 ? kReportHelperFailed : (int32_t)run.current;
  r.err = err;
  strncpy(r.detail, detail.c_str(), sizeof r.detail - 1);
  if (run.error_fd >= 0) {
    ssize_t ignored = write(run.error_fd, &r, sizeof r);
    (void)ignored;
  }
  _exit(status);
}

unsigned long long parse_num(Run &run, const std::string &s) {
  char *end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s.c_str(), &end, 0);
  if (s.empty() || *end || errno) fail(run, EINVAL, "bad number in plan: " + s);
  return v;
}

// Every signal to its default: what another spawner (wrap()) may hand down
// ignored (a shell's `trap ''`, nohup) an exec keeps, and the command's fork
// resets only the handlers the helper itself installs (ops_fork.cc). The
// addon's child does this before its exec (native/spawn.cc).
void default_dispositions() {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--handoff") == 0) default_dispositions();
  // The addon's vfork child execs us with every signal blocked (native/spawn.cc).
  // A job-control stop that arrived in between was meant for the caller's
  // process group, which we have left (the CLI's helper has its own): it is
  // dropped (ignoring a pending signal discards it), since nobody would ever
  // continue us. Everything else is delivered now.
  struct sigaction ign = {}, dfl = {};
  ign.sa_handler = SIG_IGN;
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU}) {
    sigaction(sig, &ign, nullptr);
    sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  Run run;
  if (argc == 2 && strcmp(argv[1], "--probe-userns") == 0) return probe_userns();
  if (argc == 4 && strcmp(argv[1], "--proxy-connect") == 0) return proxy_connect(argv[2], argv[3]);
  run.current = (size_t)-1;
  int plan_fd = -1;
  if (argc == 5 && strcmp(argv[1], "--handoff") == 0) {
    std::string why;
    int err = open_handoff(argv + 2, &plan_fd, &run.error_fd, &why);
    if (err)
      fail(run, err, why);  // reaches the parent when the pipe was opened; the exit status (125) always does
  } else if (argc == 3 || argc == 4) {
    plan_fd = atoi(argv[1]);
    run.error_fd = atoi(argv[2]);
    if (argc == 4) run.events_fd = atoi(argv[3]);
  } else {
    return 125;
  }
  bool parsed = parse_plan(run, read_all(plan_fd), run.steps);
  run.current = (size_t)-1;
  if (!parsed) fail(run, EINVAL, "malformed plan");
  close(plan_fd);

  for (run.current = 0; run.current < run.steps.size(); run.current++) {
    const Step &s = run.steps[run.current];
    const StepOp op = s.op;  // pool_wait appends to run.steps: `s` may not outlive the step
    check_order(run, s);
    run_step(run, s);
    run.ran |= step_bit(op);
  }
  fail(run, EINVAL, "plan ended without exec");
}

// Test only: lib/spawn.ts puts this in place of step k when SBX_NATIVE_TEST_FAIL_STEP=k.
void step_fail_injected(Run &run, const Step &) { fail(run, EIO, "injected failure"); }
