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
const cli = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...env, ...extra } });

describe(`sbx-native exec (as ${userLabel})`, () => {
  let dir: string;
  beforeAll(() => { dir = tempDir(); });
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
    expect(cli(['exec', '-w'], dir).stderr).toMatch(/-w needs a value/);
    const rel = cli(['exec', '-w', '', '--', 'true'], dir);
    expect(rel.status).toBe(2);
    expect(rel.stderr).toMatch(/option -w needs a non-empty value/);
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
    for (const [sig, expected] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      const p = cpSpawn(process.execPath, [bin, 'exec', '--', '/bin/sh', '-c', 'echo ready; exec sleep 100'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
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
