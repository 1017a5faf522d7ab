// The command's part of a plan, checked: every string ends up in the
// NUL-separated plan, where a NUL would forge plan steps.
import path from 'path';

export function checkedPlanInput(
  file: string,
  args: readonly string[],
  options: { cwd?: string; argv0?: string; env?: NodeJS.ProcessEnv },
): { cwd: string; env: string[] } {
  if (typeof file !== 'string' || file === '')
    throw new TypeError(`The "file" argument must be a non-empty string, got ${JSON.stringify(file)}`);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    throw new TypeError('The "args" argument must be an array of strings');
  for (const s of [file, ...args]) if (s.includes('\0')) throw new TypeError(`argument contains a NUL byte: ${JSON.stringify(s)}`);
  for (const [key, v] of [
    ['cwd', options.cwd],
    ['argv0', options.argv0],
  ] as const) {
    if (v !== undefined && (typeof v !== 'string' || v.includes('\0')))
      throw new TypeError(`The "${key}" option must be a string without NUL bytes, got ${JSON.stringify(v)}`);
  }
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env: string[] = [];
  for (const [k, v] of Object.entries(options.env ?? process.env)) {
    if (v === undefined) continue;
    if (k.includes('=') || k.includes('\0') || String(v).includes('\0'))
      throw new TypeError(`invalid environment entry ${JSON.stringify(k)}`);
    env.push(`${k}=${v}`);
  }
  return { cwd, env };
}
