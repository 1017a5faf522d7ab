// Attack class: a second sandbox started from inside the first, to get a
// fresh user namespace (and with it capabilities and the mount API). The
// seccomp filter denies CLONE_NEWUSER, so the inner one fails closed at its
// first step, before running anything.
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../lib';
import { repoRoot, userLabel } from '../helpers';
import { Fixture, fixture, j } from './lib';

describe(`a sandbox inside the sandbox (as ${userLabel})`, () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => f.cleanup());

  it('the CLI inside fails closed: exit 125, "unshare: EPERM", the inner command never runs', async () => {
    const before = f.state();
    const r = await run(
      process.execPath,
      [path.join(repoRoot, 'bin', 'sbx-native.js'), 'exec', '-w', f.O, '--', '/bin/sh', '-c', `touch ${f.O}/inner-ran`],
      { sandbox: f.sandbox },
    );
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe('sbx-native: unshare: unshare: EPERM (operation not permitted)');
    expect(f.state()).toEqual(before);
  });

  it('the library inside rejects with SBX_SETUP_FAILED at step "unshare", errno -EPERM', async () => {
    const src = `require(${j(path.join(repoRoot, 'dist'))}).run('/bin/true', [], { sandbox: { writableRoots: [${j(f.O)}] } })
      .then(() => console.log('ran'), (e) => console.log(JSON.stringify({ code: e.code, step: e.step, errno: e.errno, syscall: e.syscall })))`;
    const before = f.state();
    const r = await run(process.execPath, ['-e', src], { sandbox: f.sandbox });
    expect(JSON.parse(r.stdout)).toEqual({ code: 'SBX_SETUP_FAILED', step: 'unshare', errno: -1, syscall: 'unshare' });
    expect(f.state()).toEqual(before);
  });

  it('a nested sandbox with network: true does not gain the host network either (same EPERM)', async () => {
    const r = await run(process.execPath, [path.join(repoRoot, 'bin', 'sbx-native.js'), 'exec', '--network', '--', '/bin/true'], {
      sandbox: f.sandbox,
    });
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([125, 'sbx-native: unshare: unshare: EPERM (operation not permitted)']);
  });
});
