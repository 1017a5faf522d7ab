// The helper's error report (protocol/error-report.json) as the error a caller
// sees: a spawn error shaped like child_process's for a command that could
// not be started, else a SandboxSetupError naming the failed step.
import os from 'os';
import { errnoName, hintFor, SandboxSetupError } from './errors';
import type { Plan } from './plan';
import { REPORT_DETAIL_LENGTH, REPORT_DETAIL_OFFSET, REPORT_ERR_OFFSET, REPORT_SIZE, REPORT_STEP_OFFSET } from './gen/error-report';

export { REPORT_SIZE };

/** `syscall` is 'spawn' or 'spawnSync', as child_process names them. */
export function reportError(report: Buffer, plan: Plan, file: string, args: string[], syscall: 'spawn' | 'spawnSync'): Error {
  const stepIndex = report.readInt32LE(REPORT_STEP_OFFSET);
  const errno = report.readInt32LE(REPORT_ERR_OFFSET);
  const detail = report
    .subarray(REPORT_DETAIL_OFFSET, REPORT_DETAIL_OFFSET + REPORT_DETAIL_LENGTH)
    .toString('utf8')
    .replace(/\0.*$/s, '');
  const failed = stepIndex < 0 ? undefined : plan.steps[stepIndex];
  const injected = failed?.op === 'fail_injected'; // test only: report the step it replaced, always as a setup failure
  const step = stepIndex < 0 ? 'start-helper' : injected ? failed!.args[0] : (failed?.op ?? `step ${stepIndex}`);
  const { ENOENT, EACCES } = os.constants.errno;
  if (!injected && (step === 'exec' || (step === 'chdir' && (errno === ENOENT || errno === EACCES)))) {
    // Like child_process: a missing or non-executable command, or a cwd that
    // is missing or not searchable, is a spawn error, not a sandbox failure.
    return spawnError(errnoName(errno), -errno, file, args, syscall);
  }
  return new SandboxSetupError(step, -errno, detail, hintFor(step, errno));
}

export function spawnError(
  code: string,
  errno: number,
  file: string,
  args: string[],
  syscall: 'spawn' | 'spawnSync',
): NodeJS.ErrnoException {
  const e = new Error(`${syscall} ${file} ${code}`) as NodeJS.ErrnoException & { spawnargs: string[] };
  e.errno = errno;
  e.code = code;
  e.syscall = `${syscall} ${file}`;
  e.path = file;
  e.spawnargs = args;
  return e;
}
