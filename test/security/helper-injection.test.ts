// Attack classes: environment injection into the helper (cf. Flatpak
// CVE-2021-21261) and a command named like an option (CVE-2024-32462). The
// helper is exec'd with an empty environment; the command gets only the env
// the caller passes; argv after `--` is never parsed as options.
import { execFileSync, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, spawn } from '../../lib';
import { repoRoot, userLabel } from '../helpers';
import { Fixture, fixture } from './lib';

const cli = path.join(repoRoot, 'bin', 'sbx-native.js');

describe(`injection into the helper and its arguments (as ${userLabel})`, () => {
  let f: Fixture;
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => {
    f = fixture();
    saved = { ...process.env };
  });
  afterEach(() => {
    process.env = saved;
    f.cleanup();
  });

  it('LD_PRELOAD, LD_LIBRARY_PATH, NODE_OPTIONS, GCONV_PATH in the caller env never reach the helper: its environ is empty', async () => {
    const marker = path.join(f.O, 'preloaded');
    const evil = {
      LD_PRELOAD: path.join(f.O, 'evil.so'),
      LD_LIBRARY_PATH: f.O,
      NODE_OPTIONS: `--require ${path.join(f.O, 'evil.js')}`,
      GCONV_PATH: f.O,
      LD_AUDIT: path.join(f.O, 'evil.so'),
    };
    fs.writeFileSync(path.join(f.O, 'evil.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`);
    Object.assign(process.env, evil);
    const child = spawn('/bin/sleep', ['5'], { sandbox: f.sandbox, env: { PATH: '/usr/bin:/bin' } });
    await new Promise((res) => child.on('spawn', res));
    await new Promise((res) => setTimeout(res, 100));
    const helperEnv = fs.readFileSync(`/proc/${child.pid}/environ`, 'utf8');
    const init = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
    const initEnv = fs.readFileSync(`/proc/${init}/environ`, 'utf8');
    child.kill('SIGKILL');
    await new Promise((res) => child.on('close', res));
    expect(helperEnv).toBe('');
    expect(initEnv).toBe('');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("the command gets exactly the env passed (plus the SBX_NATIVE_SANDBOX marker), not the caller's LD_PRELOAD (no ld.so complaint, no NODE_OPTIONS require)", async () => {
    const marker = path.join(f.O, 'required');
    fs.writeFileSync(path.join(f.O, 'evil.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`);
    Object.assign(process.env, { LD_PRELOAD: '/nonexistent/evil.so', NODE_OPTIONS: `--require ${path.join(f.O, 'evil.js')}` });
    const r = await run(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.env))'], {
      sandbox: f.sandbox,
      env: { PATH: '/usr/bin:/bin', A: '1' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ PATH: '/usr/bin:/bin', A: '1', SBX_NATIVE_SANDBOX: '1' });
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('the CLI under a poisoned environment (LD_PRELOAD of a missing library) still runs the helper cleanly', () => {
    const r = spawnSync(process.execPath, [cli, 'exec', '-w', f.repo, '--clear-env', '--', '/bin/sh', '-c', 'echo "[$LD_PRELOAD]"'], {
      encoding: 'utf8',
      env: { ...process.env, LD_PRELOAD: '/nonexistent/evil.so' },
    });
    // node itself prints ld.so's complaint (it is dynamic); the sandboxed command's env was cleared.
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('[]\n');
  });

  it('a command named like an option (--dry-run, -w, --bind=/ /x) is the program name: 127, nothing parsed', () => {
    const before = f.state();
    for (const cmd of ['--dry-run', '-w', '--bind=/ /x', '--network']) {
      const r = spawnSync(process.execPath, [cli, 'exec', '-w', f.repo, '--', cmd, f.O], {
        encoding: 'utf8',
        cwd: f.repo,
        env: { ...process.env, PATH: '/usr/bin:/bin' },
      });
      expect([cmd, r.status, r.stdout]).toEqual([cmd, 127, '']);
      expect(r.stderr).toMatch(/not found|ENOENT|No such file/i);
    }
    expect(f.state()).toEqual(before);
  });

  it('the library: spawn("--network") gives ENOENT, not an option', async () => {
    await expect(run('--network', ['-w', '/'], { sandbox: f.sandbox, env: { PATH: '/usr/bin:/bin' } })).rejects.toMatchObject({
      code: 'ENOENT',
    });
    void execFileSync;
  });
});
