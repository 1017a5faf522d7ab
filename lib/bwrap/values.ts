// The small value parsers of bubblewrap's command line (fds, octal modes,
// sizes, capability names) and its error type, as bubblewrap reads them.

export class BwrapError extends Error {
  /** The message as bubblewrap prints it, without the `bwrap: ` prefix. */
  constructor(
    message: string,
    public exitCode = 1,
  ) {
    super(message);
    this.name = 'BwrapError';
  }
}

/** Capability names bubblewrap (libcap) knows, by number. */
export const CAPS = [
  'chown',
  'dac_override',
  'dac_read_search',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'linux_immutable',
  'net_bind_service',
  'net_broadcast',
  'net_admin',
  'net_raw',
  'ipc_lock',
  'ipc_owner',
  'sys_module',
  'sys_rawio',
  'sys_chroot',
  'sys_ptrace',
  'sys_pacct',
  'sys_admin',
  'sys_boot',
  'sys_nice',
  'sys_resource',
  'sys_time',
  'sys_tty_config',
  'mknod',
  'lease',
  'audit_write',
  'audit_control',
  'setfcap',
  'mac_override',
  'mac_admin',
  'syslog',
  'wake_alarm',
  'block_suspend',
  'audit_read',
  'perfmon',
  'bpf',
  'checkpoint_restore',
].map((c) => `CAP_${c.toUpperCase()}`);

export function capName(arg: string): string | undefined {
  const up = arg.toUpperCase();
  const name = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (CAPS.includes(name)) return name;
  if (/^[0-9]+$/.test(arg) && Number(arg) < CAPS.length) return CAPS[Number(arg)];
  return undefined;
}

/** strtol(s, &end, 10) accepting the whole string, >= 0 (bubblewrap's fd/uid check). */
export function decimal(s: string): number | undefined {
  const m = /^[ \t\n]*([+-]?[0-9]+)$/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= 0 && n <= 0x7fffffff ? n : undefined;
}

export function octal(s: string, what: string): number {
  const m = /^[ \t\n]*\+?([0-7]+)$/.exec(s);
  const n = m ? parseInt(m[1], 8) : NaN;
  if (!(n <= 0o7777)) throw new BwrapError(`${what} takes an octal argument <= 07777`);
  return n;
}

export function errnoText(e: NodeJS.ErrnoException): string {
  const texts: Record<string, string> = {
    EBADF: 'Bad file descriptor',
    EISDIR: 'Is a directory',
    EINVAL: 'Invalid argument',
    EACCES: 'Permission denied',
    EAGAIN: 'Resource temporarily unavailable',
  };
  return texts[e.code ?? ''] ?? e.message;
}

/** strtoull(s, &end, 0): decimal, 0x hex or 0 octal, whole string. */
export function strtoull0(s: string): number | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return Number(s);
  if (/^0[0-7]*$/.test(s)) return parseInt(s, 8);
  if (/^[1-9][0-9]*$/.test(s)) return Number(s);
  return undefined;
}

/** NUL-separated words; a final word without its NUL counts too (as bubblewrap reads them). */
export function splitNul(data: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0, start);
    if (end < 0) end = data.length;
    out.push(data.toString('utf8', start, end));
    start = end + 1;
  }
  return out;
}

/** An option sbx-native's front end cannot honour faithfully: refused, never ignored. */
export function unsupported(what: string, why: string): BwrapError {
  return new BwrapError(`${what}: not supported by sbx-native's bwrap front end (${why})`);
}
