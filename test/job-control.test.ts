// Ctrl-Z on a sandboxed command run from a real shell on a real terminal
// (node-pty + bash): the CLI stops with it, the shell says Stopped, fg gives
// the terminal back to the command, bg lets it run without it.
import path from 'path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodePty } from './clients';
import { leftovers, repoRoot, rmTree, tempDir, userLabel } from './helpers';

const cli = path.join(repoRoot, 'bin', 'sbx-native.js');

describe(`job control through the CLI (as ${userLabel})`, () => {
  let pty: any;
  let why = '';
  beforeAll(() => {
    const r = nodePty();
    if ('why' in r) why = r.why;
    else pty = r.pty;
  }, 300_000);

  /** An interactive bash on a pty, with a helper that waits for its output to match. */
  function shell(cwd = '/') {
    const t = pty.spawn('/bin/bash', ['--norc', '--noprofile', '-i'], { cwd, env: { PATH: process.env.PATH!, TERM: 'dumb', PS1: '$ ' } });
    let out = '';
    t.onData((d: string) => {
      out += d;
    });
    const until = (re: RegExp, ms = 10_000) =>
      new Promise<string>((res, rej) => {
        const start = Date.now();
        const iv = setInterval(() => {
          if (re.test(out)) {
            clearInterval(iv);
            res(out);
          } else if (Date.now() - start > ms) {
            clearInterval(iv);
            rej(new Error(`no ${re} in ${JSON.stringify(out)}`));
          }
        }, 20);
      });
    const mark = () => {
      const at = out.length;
      return (re: RegExp, ms?: number) => until(new RegExp(`^[\\s\\S]{${at}}[\\s\\S]*${re.source}`), ms);
    };
    return { t, until, mark };
  }

  it('Ctrl-Z stops the command and the CLI (Stopped), fg resumes both with the terminal', async (ctx) => {
    if (!pty) ctx.skip(`node-pty is missing: ${why}`);
    const { t, until, mark } = shell();
    try {
      await until(/\$ $/);
      t.write(`${process.execPath} ${cli} exec --mode read-only -- cat\r`);
      await new Promise((r) => setTimeout(r, 1000));
      let after = mark();
      t.write('one\r');
      await after(/one\r\none\r\n/);
      after = mark();
      t.write('\x1a');
      await after(/Stopped/);
      after = mark();
      t.write('fg\r');
      await new Promise((r) => setTimeout(r, 500));
      t.write('two\r');
      await after(/two\r\ntwo\r\n/); // echoed by the terminal, then by cat: it reads the terminal again
      after = mark();
      t.write('\x04');
      await new Promise((r) => setTimeout(r, 300));
      t.write('echo "rc=$?"\r');
      await after(/rc=0/);
    } finally {
      t.kill();
    }
  }, 30_000);

  it('bg lets a stopped command run on in the background; kill %1 ends it and nothing is left', async (ctx) => {
    if (!pty) ctx.skip(`node-pty is missing: ${why}`);
    // Its own directory: leftovers() finds the helpers started from it, and only those.
    const dir = tempDir();
    const { t, until, mark } = shell(dir);
    try {
      await until(/\$ $/);
      t.write(
        `${process.execPath} ${cli} exec --mode read-only -- sh -c 'sleep 0.6; echo tick-one; sleep 0.6; echo tick-two; sleep 30.5151'\r`,
      );
      await new Promise((r) => setTimeout(r, 300));
      let after = mark();
      t.write('\x1a');
      await after(/Stopped/);
      after = mark();
      t.write('bg\r');
      // It runs without the terminal: the shell takes commands meanwhile, and the ticks still come.
      t.write('echo shell-is-free\r');
      await after(/shell-is-free[\s\S]*tick-two/);
      after = mark();
      t.write('jobs\r');
      await after(/Running/);
      after = mark();
      t.write('kill %1; wait; echo "done"\r');
      await after(/done/);
      // The sandbox ends with its monitor; under load that takes a moment: wait for it, up to 10 s.
      for (let i = 0; i < 100 && leftovers(dir, '30.5151').length; i++) await new Promise((r) => setTimeout(r, 100));
      expect(leftovers(dir, '30.5151')).toEqual([]);
    } finally {
      t.kill();
      rmTree(dir);
    }
  }, 30_000);
});
