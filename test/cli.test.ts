// The command line: exit codes, signals, option parsing, --dry-run.
import { spawn as cpSpawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExecArgs } from '../lib/cli';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
// A PATH without directories `nobody` cannot search (they turn ENOENT into EACCES, as in child_process).
const env = { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' };
const cli = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...env, ...extra } });

describe(`sbx-native exec (as ${userLabel})`, () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => rmTree(dir));

  it('writes only in the current directory by default', () => {
    const other = tempDir();
    const r = cli(['exec', '--tmp', 'none', '--', '/bin/sh', '-c', `echo ok > here; echo no > ${other}/there`], dir);
    expect(r.status).toBe(2);
    expect(fs.readFileSync(path.join(dir, 'here'), 'utf8')).toBe('ok\n');
    expect(fs.existsSync(path.join(other, 'there'))).toBe(false);
    expect(r.stderr).toMatch(/Read-only file system/);
    rmTree(other);
  });

  it('exits with the command status, 128+N after a signal, 127 / 126 for missing / non-executable', () => {
    expect(cli(['exec', '/bin/sh', '-c', 'exit 7'], dir).status).toBe(7);
    expect(cli(['exec', '--', '/bin/sh', '-c', 'kill -TERM $$'], dir).status).toBe(143);
    const missing = cli(['exec', '--', 'no-such-cmd-sbx'], dir);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toBe('sbx-native: no-such-cmd-sbx: command not found\n');
    fs.writeFileSync(path.join(dir, 'not-exec'), 'echo hi\n', { mode: 0o644 });
    expect(cli(['exec', '--', path.join(dir, 'not-exec')], dir).status).toBe(126);
  });

  it('exits 2 with a message for bad usage', () => {
    const r = cli(['exec', '--frobnicate', 'true'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option "--frobnicate"/);
    expect(cli(['exec'], dir).status).toBe(2);
    expect(cli(['exec', '-w'], dir).stderr).toMatch(/-w.* argument missing/);
    const rel = cli(['exec', '-w', '', '--', 'true'], dir);
    expect(rel.status).toBe(2);
    expect(rel.stderr).toMatch(/option -w needs a non-empty value/);
  });

  it('conventions: help and version everywhere, -w -- is an error, repeated or contradictory options are reported', () => {
    for (const argv of [
      ['--help'],
      ['-h'],
      ['help'],
      ['help', 'exec'],
      ['exec', '--help'],
      ['exec', '-w', '.', '-h'],
      ['exec', '-v', '--help', '--', 'true'],
    ]) {
      const r = cli(argv, dir);
      expect([argv, r.status, r.stdout.split('\n')[0]]).toEqual([argv, 0, 'Usage: sbx-native exec [options] [--] COMMAND [ARGS...]']);
    }
    for (const argv of [
      ['doctor', '--help'],
      ['help', 'doctor'],
    ])
      expect(cli(argv, dir).stdout).toMatch(/^Usage: sbx-native doctor/);
    for (const argv of [['version'], ['--version']]) expect(cli(argv, dir).stdout).toBe(`${require('../package.json').version}\n`);
    const bad: [string[], RegExp][] = [
      [['exec', '-w', '--', 'true'], /option -w needs a value, not an option/],
      [['exec', '--write', '-x', 'true'], /option --write needs a value, not an option .*--write=VALUE/],
      [
        ['exec', '--mode', 'read-only', '--mode', 'full', '--', 'true'],
        /--mode given more than once, with different values: read-only, full/,
      ],
      [['exec', '-w', 'a', '-r', './a', '--', 'true'], /\/a is given to both -w and -r/],
      [['exec', '--config', 'x.json', '--no-config', '--', 'true'], /--config and --no-config contradict/],
      [['exec', '--network=yes', '--', 'true'], /'--network' does not take an argument/],
      [['help', 'frobnicate'], /help: no such command "frobnicate"/],
      [['version', 'x'], /version: unexpected argument "x"/],
    ];
    for (const [argv, msg] of bad) {
      const r = cli(argv, dir);
      expect([argv, r.status]).toEqual([argv, 2]);
      expect(r.stderr).toMatch(msg);
    }
    // The same value twice is not a contradiction.
    expect(cli(['exec', '--mode', 'read-only', '--mode', 'read-only', '--', 'true'], dir).status).toBe(0);
  });

  it('-v: one line per directory of missing protected names, and a word on EXDEV between separate mounts', () => {
    const r = cli(['exec', '-v', '-w', '.', '-w', '/var/tmp', '--', 'true'], dir);
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines.filter((l) => l.startsWith(`sbx-native: protected in ${dir} (missing`))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/protected: .*\.codex/);
    expect(r.stderr).toMatch(/separate mounts: hard links and renames between .*\/var\/tmp.* fail with EXDEV/);
  });

  it('treats everything after -- and the first non-option word as the command', () => {
    expect(parseExecArgs(['-w', '/a', '--', '--dev-bind', '-x'])).toMatchObject({ write: ['/a'], command: ['--dev-bind', '-x'] });
    expect(parseExecArgs(['--network', 'ls', '-w', '/b'])).toMatchObject({ network: true, write: [], command: ['ls', '-w', '/b'] });
    expect(parseExecArgs(['--write=/c', 'x'])).toMatchObject({ write: ['/c'], command: ['x'] });
    const odd = cli(['exec', '--', '-x'], dir);
    expect(odd.status).toBe(127);
    expect(odd.stderr).toBe('sbx-native: -x: command not found\n');
  });

  it('prints the plan as JSON with --dry-run and runs nothing', () => {
    const r = cli(['exec', '--dry-run', '--tmp', 'none', '-w', dir, '--', '/bin/sh', '-c', `touch ${dir}/ran`], dir);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.policy.writableRoots).toEqual([dir]);
    expect(j.plan.steps.at(-1)).toEqual({ op: 'exec', args: ['/bin/sh', '/bin/sh', '-c', `touch ${dir}/ran`] });
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('forwards SIGTERM and SIGINT to the command and exits as it did', async () => {
    for (const [sig, expected] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const p = cpSpawn(process.execPath, [bin, 'exec', '--', '/bin/sh', '-c', 'echo ready; exec sleep 100'], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise((res) => p.stdout!.once('data', res));
      p.kill(sig);
      const code = await new Promise((res) => p.on('exit', res));
      expect(code, sig).toBe(expected);
    }
  });

  it('reports a setup failure as "sbx-native: <step>: <reason>" and exit 125', () => {
    const r = cli(['exec', '--', 'true'], dir, { SBX_NATIVE_TEST_FAIL_STEP: '0' });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^sbx-native: [a-z_]+: .*EIO.*\n/m);
  });

  it('refuses a --cwd that is missing or not a directory as bad usage, naming it', () => {
    for (const bad of ['/nonexistent-dir', '/etc/passwd']) {
      const r = cli(['exec', '--cwd', bad, '--', 'true'], dir);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--cwd ${bad}: not a directory`);
    }
  });
});
