// Enforcement levels (never silent). SBX_NATIVE_TEST_HOST (test only) makes
// the host report less than it has; the lower levels then really run here.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { landlockAbi, prepare } from '../lib';
import { chooseLevel } from '../lib/host';
import { repoRoot, rmTree, snapshot, twoRoots, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
const cli = (args: string[], host: string | undefined, extra: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin', ...(host ? { SBX_NATIVE_TEST_HOST: host } : {}), ...extra },
  });

describe(`enforcement levels (as ${userLabel})`, () => {
  let H: string, A: string, B: string;
  beforeEach(() => {
    ({ H, A, B } = twoRoots());
    fs.writeFileSync(path.join(A, 'f'), 'f');
  });
  afterEach(() => rmTree(H));

  it('full: links between roots work and nothing is reported as missing', () => {
    const r = cli(['exec', '--tmp', 'none', '-w', A, '-w', B, '--', 'ln', `${A}/f`, `${B}/f`], undefined);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(fs.statSync(path.join(B, 'f')).nlink).toBe(2);
  });

  it('mount-only (no Landlock): per-root binds, cross-root links EXDEV, said on stderr and in the result', () => {
    for (const host of ['landlock=0', 'landlock=1']) {
      const r = cli(
        ['exec', '--tmp', 'none', '-w', A, '-w', B, '--', '/bin/sh', '-c', `ln ${A}/f ${B}/f; echo x > ${A}/g; echo y > ${H}/h`],
        host,
      );
      expect(r.stderr).toMatch(/degraded enforcement \(mount-only\): Landlock (is unavailable|ABI 1 lacks REFER)/);
      expect(r.stderr).toMatch(/Invalid cross-device link/);
      expect(r.stderr).toMatch(new RegExp(`${H}/h: Read-only file system`));
      expect(fs.readFileSync(path.join(A, 'g'), 'utf8')).toBe('x\n');
      expect(fs.existsSync(path.join(B, 'f'))).toBe(false);
      expect(fs.existsSync(path.join(H, 'h'))).toBe(false);
    }
    process.env.SBX_NATIVE_TEST_HOST = 'landlock=0';
    try {
      const p = prepare('/bin/true', [], { sandbox: { writableRoots: [A, B], tmp: 'none' } });
      expect(p.enforcement.level).toBe('mount-only');
      expect(p.plan.steps.some((s) => s.op.startsWith('landlock'))).toBe(false);
      expect(p.plan.layout!.groups.map((g) => g.ancestor)).toEqual([A, B]);
    } finally {
      delete process.env.SBX_NATIVE_TEST_HOST;
    }
  });

  it('landlock-only (no user namespace): refused unless allowed, then runs with Landlock and says what is missing', () => {
    const refused = cli(['exec', '--tmp', 'none', '-w', A, '--', 'touch', `${A}/ran`], 'userns=0');
    expect(refused.status).toBe(125);
    expect(refused.stderr).toMatch(
      /^sbx-native: probe: this host cannot enforce the sandbox \(level landlock-only\)\nhint: only Landlock is available.*--allow-degraded/,
    );
    expect(fs.existsSync(path.join(A, 'ran'))).toBe(false);

    const before = snapshot(H);
    const r = cli(
      [
        'exec',
        '--allow-degraded',
        '--tmp',
        'none',
        '-w',
        A,
        '-w',
        B,
        '--',
        '/bin/sh',
        '-c',
        `ln ${A}/f ${B}/f && echo linked; echo y > ${H}/h || echo refused; grep NoNewPrivs /proc/self/status`,
      ],
      'userns=0',
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/degraded enforcement \(landlock-only\): user namespaces are unusable/);
    expect(r.stderr).toMatch(/chmod\/chown\/utimes\/setxattr outside the roots are not blocked/);
    expect(/pathname unix sockets outside the sandbox \(tmux, ssh-agent, X11\) stay reachable/.test(r.stderr)).toBe(landlockAbi().abi < 9);
    expect(r.stderr).toMatch(new RegExp(`${H}/h: Permission denied`)); // Landlock: EACCES, not EROFS
    expect(r.stdout).toBe('linked\nrefused\nNoNewPrivs:\t1\n');
    const after = snapshot(H);
    expect(after['b/f']).toBeDefined();
    expect(after['h']).toBeUndefined();
    expect(Object.keys(after).filter((k) => !(k in before))).toEqual(['b/f']);
  });

  it('landlock-only refuses TCP when networking is off', () => {
    const js = `require('net').connect(1, '127.0.0.1').on('error', (e) => console.log(e.code))`;
    const r = cli(['exec', '--allow-degraded', '--tmp', 'none', '-w', A, '--', process.execPath, '-e', js], 'userns=0');
    expect(r.stdout.trim()).toBe('EACCES');
  });

  it('none: refuses with exit 125 and the reason, and WSL1 is told to use WSL2', () => {
    const r = cli(['exec', '--allow-degraded', '--', 'touch', `${A}/ran`], 'landlock=0,userns=0');
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/hint: neither user namespaces nor Landlock \(ABI >= 2\) are available/);
    expect(fs.existsSync(path.join(A, 'ran'))).toBe(false);
    expect(chooseLevel({ landlockAbi: 0, landlockErrata: 0, userns: undefined, wsl1: true }, true)).toMatchObject({
      level: 'none',
      refused: expect.stringMatching(/use WSL2/),
    });
  });

  it('rejects a malformed SBX_NATIVE_TEST_HOST instead of guessing', () => {
    const r = cli(['exec', '--', 'true'], 'userns=maybe');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/SBX_NATIVE_TEST_HOST: cannot parse "userns=maybe"/);
  });
});

describe(`sbx-native doctor (as ${userLabel})`, () => {
  it('reports the level, the checks and exits 0 on this host', () => {
    const r = cli(['doctor'], undefined);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ok Landlock +ABI \d+, errata 0x[0-9a-f]+/);
    expect(r.stdout).toMatch(/ok user namespaces +user namespace with mounts works/);
    expect(r.stdout).toMatch(/enforcement level for exec: full\n/);
    const j = JSON.parse(cli(['doctor', '--json'], undefined).stdout);
    expect(j.level).toBe('full');
    expect(j.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining([
        'kernel',
        'Landlock',
        'user namespaces',
        'seccomp',
        'pidfd',
        'new mount API',
        'WSL',
        'container',
        '/proc masking',
        'cgroup',
        'bubblewrap',
      ]),
    );
  });

  it('prints the AppArmor profile for the helper path and the commands to install it', () => {
    const r = cli(['doctor'], 'landlock=7,userns=0', { SBX_NATIVE_TEST_APPARMOR: '1' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/enforcement level for exec: landlock-only \(only with --allow-degraded\)/);
    expect(r.stdout).toMatch(/profile sbx-native-helper \/\S+\/sbx-helper flags=\(unconfined\) \{\n\s+userns,/);
    expect(r.stdout).toMatch(/sudo apparmor_parser -r \/etc\/apparmor.d\/sbx-native-helper/);
  });
});
