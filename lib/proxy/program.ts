// The proxy's seccomp program as the proxy loads it: precomputed per
// architecture (lib/gen/proxy-programs.ts, from buildProxyFilter in
// ./seccomp.ts) with its own pid filled in, so a proxy's start loads neither
// the assembler nor the syscall tables (lockdown.ts runs before it serves,
// and the command waits for it).
import { PROXY_PROGRAMS } from '../gen/proxy-programs';

/** The program for `pid` on `arch` (process.arch's name), as struct sock_filter[] bytes. */
export function proxyProgram(pid: number, arch: string = process.arch): Buffer {
  const p = (PROXY_PROGRAMS as Record<string, { program: string; pidAt: number[] }>)[arch];
  if (!p) throw new Error(`sbx-native: no seccomp filter for architecture ${arch}; refusing to run unfiltered`);
  const b = Buffer.from(p.program, 'hex');
  for (const at of p.pidAt) b.writeUInt32LE(pid >>> 0, at);
  return b;
}
