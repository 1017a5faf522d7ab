// Signal names and numbers, checked the way child_process checks them.
import os from 'os';

export function signalNumber(sig: NodeJS.Signals | number | undefined): number {
  if (sig === undefined) return os.constants.signals.SIGTERM;
  if (typeof sig === 'number') return sig;
  const n = (os.constants.signals as Record<string, number>)[sig];
  if (n === undefined) {
    const e = new TypeError(`Unknown signal: ${sig}`);
    (e as NodeJS.ErrnoException).code = 'ERR_UNKNOWN_SIGNAL';
    throw e;
  }
  return n;
}

export function signalName(n: number): NodeJS.Signals {
  for (const [name, num] of Object.entries(os.constants.signals)) if (num === n) return name as NodeJS.Signals;
  return `SIG${n}` as NodeJS.Signals;
}
