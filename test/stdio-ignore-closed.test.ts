// stdio 'ignore' on fd 3 and up leaves that fd closed in the command, as
// child_process does (libuv opens /dev/null only for 0-2); the bwrap front
// end relies on it for the gaps between the fds a caller passes.
import cp from 'child_process';
import fs from 'fs';
import { describe, expect, it } from 'vitest';
import * as sbx from '../lib';

const script = 'for n in 3 4 5; do [ -e /proc/self/fd/$n ] && echo "$n open" || echo "$n closed"; done';

describe("stdio 'ignore' beyond fd 2", () => {
  it('is a closed fd, for child_process and sbx-native alike', async () => {
    const fd = fs.openSync('/dev/null', 'r');
    try {
      const stdio: cp.StdioOptions = ['ignore', 'pipe', 'pipe', 'ignore', fd];
      const theirs = await new Promise<string>((resolve) => {
        const c = cp.spawn('/bin/sh', ['-c', script], { stdio });
        let out = '';
        c.stdout!.on('data', (d) => (out += d));
        c.on('close', () => resolve(out));
      });
      const ours = await new Promise<{ stdout: string }>((resolve) => {
        const c = sbx.spawn('/bin/sh', ['-c', script], { stdio: stdio as sbx.SpawnOptions['stdio'] });
        let out = '';
        c.stdout!.on('data', (d: Buffer) => (out += d));
        c.on('close', () => resolve({ stdout: out }));
      });
      expect(theirs).toBe('3 closed\n4 open\n5 closed\n');
      expect(ours.stdout).toBe(theirs);
    } finally {
      fs.closeSync(fd);
    }
  });
});
