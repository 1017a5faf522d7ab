// Error objects shaped like Node's (code, errno, syscall), plus the sandbox
// step that failed and a hint that says how to fix it.
import os from 'os';
import { STEP_HINT, HintClass } from './gen/plan-steps';

// Built at the first error, not at every CLI start (some 130 names).
let errnoNames: Map<number, string> | undefined;

export function errnoName(errno: number): string {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, num] of Object.entries(os.constants.errno)) if (!errnoNames.has(num)) errnoNames.set(num, name);
  }
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** `code` of every error that means "the sandbox could not be set up; the command did not run". */
export const SETUP_FAILED = 'SBX_SETUP_FAILED';

export class SandboxSetupError extends Error {
  readonly code = SETUP_FAILED;
  constructor(
    /** The plan step that failed, e.g. "unshare", "move_slot", "landlock_restrict". */
    public readonly step: string,
    /** Negative errno, as in Node's own errors. */
    public readonly errno: number,
    /** What was being done, e.g. "open_tree /home/u". */
    public readonly syscall: string,
    public readonly hint: string,
  ) {
    const text = describe(-errno);
    super(`${step}: ${syscall}: ${errnoName(-errno)}${text ? ` (${text})` : ''}`);
    this.name = 'SandboxSetupError';
  }
}

function describe(errno: number): string {
  try {
    return (require('util') as typeof import('util')).getSystemErrorMap().get(-errno)?.[1] ?? '';
  } catch {
    return '';
  }
}

function insideSeccompSandbox(): boolean {
  try {
    return /^Seccomp:\s*2$/m.test(require('fs').readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return false;
  }
}

/** `step` is a plan op (its hint class is in protocol/plan-steps.json), or 'start-helper' / 'probe'. */
export function hintFor(step: string, errno: number): string {
  const name = errnoName(errno);
  const hint: HintClass | undefined = Object.prototype.hasOwnProperty.call(STEP_HINT, step)
    ? STEP_HINT[step as keyof typeof STEP_HINT]
    : undefined;
  if (hint === 'new-userns' && name === 'EPERM' && insideSeccompSandbox()) {
    return 'this process already runs inside a sandbox whose seccomp filter forbids new user namespaces (sbx-native refuses nesting); run the command in the outer sandbox';
  }
  if (hint === 'new-userns' || hint === 'userns') {
    return (
      'user namespaces are unavailable: check `sysctl user.max_user_namespaces` (must be > 0), ' +
      "kernel.apparmor_restrict_unprivileged_userns on Ubuntu, or the container's seccomp profile"
    );
  }
  if (hint === 'mount') {
    if (name === 'EPERM' || name === 'EACCES') {
      return "mounts are refused inside the user namespace (Ubuntu's AppArmor userns restriction, or a container that masks /proc): run `sbx-native doctor`";
    }
    if (name === 'ENOSYS') return 'the kernel lacks the new mount API (needs Linux >= 5.12)';
    return 'a path changed while the sandbox was being built, or the mount table is unusual: retry, and run `sbx-native doctor`';
  }
  if (hint === 'landlock') {
    if (name === 'ENOSYS' || name === 'EOPNOTSUPP') return 'Landlock is not enabled: boot with lsm=...,landlock (Linux >= 5.19 for ABI 2)';
    return 'a Landlock rule could not be added: the path may have vanished or be on an unsupported filesystem';
  }
  if (hint === 'chdir') return 'the working directory does not exist or is not searchable';
  if (hint === 'lock') return 'the lock file (bwrap --lock-file) must exist and be readable inside the sandbox';
  if (step === 'start-helper')
    return 'the helper executable could not be started: reinstall sbx-native; it must not live on a noexec mount';
  return 'run `sbx-native doctor` and include its output in a bug report';
}
