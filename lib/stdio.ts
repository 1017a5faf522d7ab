// stdio options -> the fds the helper gets, as child_process maps them.
import fs from 'fs';
import type { SpawnOptions, StdioOption } from './spawn-options';

/** `interactive` needs a terminal on the command's stdin: refused, not ignored, without one. */
export function checkTerminal(stdio: SpawnOptions['stdio']): void {
  const s0 = stdio === undefined || typeof stdio === 'string' ? (stdio ?? 'pipe') : stdio[0];
  const fd = s0 === 'inherit' ? 0 : typeof s0 === 'number' ? s0 : typeof s0 === 'object' && s0 !== null ? s0.fd : undefined;
  if (fd === undefined || !require('tty').isatty(fd)) {
    throw new TypeError(
      `The "interactive" option needs a terminal on the command's stdin (stdio[0] is ${fd === undefined ? JSON.stringify(s0 ?? 'pipe') : `fd ${fd}, not a terminal`}); for a pty of your own, use wrap() with node-pty`,
    );
  }
}

/** Maps stdio options to the fds the helper gets; -1 asks the addon for a pipe, -2 for a socketpair, -3 leaves the fd closed. Also: where 'ipc' is. */
export function childFds(stdio: SpawnOptions['stdio']): [number[], number[], number] {
  const list: StdioOption[] =
    stdio === undefined || typeof stdio === 'string' ? [stdio ?? 'pipe', stdio ?? 'pipe', stdio ?? 'pipe'] : [...stdio];
  while (list.length < 3) list.push('pipe');
  const fds: number[] = [];
  const toClose: number[] = [];
  let ipcAt = -1;
  list.forEach((s, i) => {
    if (i > 2 && (s === null || s === undefined)) s = 'ignore'; // as child_process: fd 3 and up default to nothing
    if (s === 'pipe' || s === 'overlapped' || s === null || s === undefined) {
      fds.push(i > 2 ? -2 : -1); // fd 3 and up: a duplex socket, as child_process gives
    } else if (s === 'ipc') {
      if (ipcAt >= 0) throw new TypeError(`stdio[${i}]: only one 'ipc' entry is allowed (stdio[${ipcAt}] is one)`);
      ipcAt = i;
      fds.push(-2);
    } else if (s === 'inherit') fds.push(i);
    else if (s === 'ignore' && i > 2)
      fds.push(-3); // as child_process: nothing at fd 3 and up
    else if (s === 'ignore') {
      const fd = fs.openSync('/dev/null', i === 0 ? 'r' : i > 2 ? 'r+' : 'w');
      toClose.push(fd);
      fds.push(fd);
    } else if (typeof s === 'number' && Number.isInteger(s) && s >= 0) fds.push(s);
    else if (typeof s === 'object' && typeof s.fd === 'number') fds.push(s.fd);
    else throw new TypeError(`stdio[${i}]: unsupported value ${JSON.stringify(s)}`);
  });
  return [fds, toClose, ipcAt];
}
