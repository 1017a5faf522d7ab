// The order the steps may run in, checked in one place before each step: a
// plan whose steps came out of order (a planner bug, or a forged plan) fails
// with the step that came too early instead of running half-prepared. The
// requirements are protocol/plan-steps.json's `after` column, plus the ones
// that depend on an argument.
#include "helper.h"
#include <errno.h>

void check_order(Run &run, const Step &s) {
  const StepSpec &spec = spec_of(s.op);
  uint64_t missing = spec.after & ~run.ran;
  if (missing) {
    for (const StepSpec &need : kStepSpecs)
      if (missing & step_bit(need.op)) fail(run, EINVAL, std::string(spec.name) + " before " + need.name);
  }
  // The filter's listener goes to init, which only a supervise step prepares.
  bool listen = s.op == StepOp::seccomp && s.args.size() == 2 && s.args[1] == "listen";
  if (listen && !run.has_run(StepOp::supervise))
    fail(run, EINVAL, "seccomp: listen without a supervise step");
}
