// prepare(): the policy resolved and the plan built, nothing run. spawn() runs
// what it returns; `sbx-native exec --dry-run` prints it.
import os from 'os';
import { native } from './native';
import { FsView, onePlanView, realView } from './fsview';
import { buildPlan, Plan } from './plan';
import { resolvePolicy, ResolvedPolicy } from './policy';
import { SandboxSetupError } from './errors';
import { chooseLevel, Enforcement, hostFacts } from './host';
import { checkedPlanInput } from './plan-input';
import type { SpawnOptions } from './spawn-options';
import { EXTRA_MOVED_ROOTS, MovedRoot, movedView } from './moved-roots';

/** The kernel's Landlock ABI (<= 0: unavailable) and errata bitmask. */
export function landlockAbi(): { abi: number; errata: number } {
  return native().binding.landlockAbi();
}

export interface PreparedSpawn {
  plan: Plan;
  enforcement: Enforcement;
  policy: ResolvedPolicy;
  file: string;
  args: string[];
}

/** Resolves the policy and builds the plan without running anything (used by --dry-run too). */
export function prepare(file: string, args: readonly string[], options: SpawnOptions = {}): PreparedSpawn {
  return prepareWith(realView, file, args, options);
}

/** prepare() reading the host through `view` (internal: a recording view tells what the plan depends on). */
// `policyEnv`: the command's environment as the policy reads it (the pool notes which variables it read).
export function prepareWith(
  view: FsView,
  file: string,
  args: readonly string[],
  options: SpawnOptions = {},
  policyEnv?: NodeJS.ProcessEnv,
): PreparedSpawn {
  // Not a recording view (the pool's): it must see each identity asked for, to re-check it.
  if (view === realView) {
    const b = native().binding;
    view = onePlanView(view, b.lstatAnswer?.bind(b));
  }
  const { cwd, env } = checkedPlanInput(file, args, options);
  // A moved root's DEST is planned as the sandbox shows it: SRC's tree (lib/moved-roots.ts).
  const moved = (options.sandbox as { [EXTRA_MOVED_ROOTS]?: MovedRoot[] } | undefined)?.[EXTRA_MOVED_ROOTS];
  if (moved?.length) view = movedView(view, moved);
  const policy = resolvePolicy(options.sandbox, cwd, policyEnv ?? options.env ?? process.env, view);
  const facts = hostFacts(!!options.allowDegraded);
  const enforcement = chooseLevel(facts, !!options.allowDegraded);
  if (enforcement.refused) {
    const e = new SandboxSetupError('probe', -os.constants.errno.EOPNOTSUPP, 'host capabilities', enforcement.refused);
    e.message = `probe: this host cannot enforce the sandbox (level ${enforcement.level})`;
    throw e;
  }
  const abi = facts.landlockAbi;
  const plan = buildPlan({
    policy,
    file,
    argv: [options.argv0 ?? file, ...args],
    env,
    cwd,
    uid: process.getuid!(),
    gid: process.getgid!(),
    landlockAbi: abi,
    kernel: facts.kernel,
    mounts: view.mounts(),
    exists: view.exists,
    identity: view.identity,
    view,
    level: enforcement.level,
    interactive: !!options.interactive,
    jobControl: !!options.interactive && !!options.jobControl,
  });
  // Test only (docs/design.md): SBX_NATIVE_TEST_FAIL_STEP=k makes the helper fail step k with EIO.
  const inject = process.env.SBX_NATIVE_TEST_FAIL_STEP;
  if (inject !== undefined && /^\d+$/.test(inject) && Number(inject) < plan.steps.length) {
    const k = Number(inject);
    plan.steps[k] = { op: 'fail_injected', args: [plan.steps[k].op] };
  }
  const { level, missing } = enforcement;
  const notScanned = plan.layout?.repositoryScan?.notScanned ?? [];
  if (notScanned.length && policy.repositoryScan.required) throw scanRefused(notScanned, policy.repositoryScan.budget);
  return {
    plan,
    enforcement: { level, missing, fallbacks: plan.fallbacks, ...(notScanned.length ? { notScanned } : {}) },
    policy,
    file,
    args: [...args],
  };
}

/** requireRepositoryScan and a root the walk did not cover: the command does not run. */
function scanRefused(notScanned: { root: string; why: string }[], budget: number): SandboxSetupError {
  const first = notScanned[0];
  const hint =
    `a repository below ${first.root} that the walk did not reach would not be protected; ` +
    `raise the budget (repositoryScanBudget, --repository-scan-budget N; now ${budget} entries), ` +
    'make the writable roots narrower, or drop requireRepositoryScan (--require-repository-scan)';
  const e = new SandboxSetupError('repository_scan', -os.constants.errno.E2BIG, `walk ${first.root}`, hint);
  e.message = `repository_scan: ${notScanned.map((n) => `${n.root} was not scanned for repositories: ${n.why}`).join('; ')}`;
  return e;
}
