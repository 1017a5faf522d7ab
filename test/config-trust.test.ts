// Issue 11, sections 2 and 4: no policy from files a sandbox can write, and
// nothing silently ignored. A discovered config file may only narrow the
// policy; every config file in use, the host-facts cache and sbx-native's own
// files are read-only in the sandbox; a cached "no user namespaces" is probed
// again; --dry-run shows variable names only; deny-read in mode full is refused.
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepare, run } from '../lib';
import { native } from '../lib/native';
import { probe, repoRoot, rmTree, snapshot, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
const baseEnv = { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' };
const cli = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, binPath = bin) =>
  spawnSync(process.execPath, [binPath, ...args], { cwd, encoding: 'utf8', env: { ...baseEnv, ...env } });

/** Runs `ops` ([label, () => void] pairs, JS source) in Node inside `sbx-native exec ARGS`; label -> 'ok' | errno code. */
function cliProbe(args: string[], ops: string, cwd: string, env: NodeJS.ProcessEnv = {}, binPath = bin): Record<string, string> {
  const src = `const fs = require('fs'); const out = {};
    for (const [label, fn] of ${ops}) { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } }
    process.stdout.write(JSON.stringify(out));`;
  const r = cli(['exec', ...args, '--', process.execPath, '-e', src], cwd, env, binPath);
  if (r.status !== 0) throw new Error(`cliProbe failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function bootKey(): string {
  let boot = 'unknown';
  try {
    boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    /* masked */
  }
  return `${boot}-${os.release()}-${process.getuid!()}`;
}

describe(`discovered config files may only narrow (as ${userLabel})`, () => {
  let D: string, P: string;
  beforeEach(() => {
    D = tempDir('sbx-trust-');
    P = path.join(D, 'proj');
    fs.mkdirSync(path.join(P, 'sub', 'deep'), { recursive: true });
    fs.mkdirSync(path.join(P, 'secret'));
    fs.writeFileSync(path.join(P, 'secret', 'key'), 'TOKEN');
  });
  afterEach(() => rmTree(D));

  const widening: [string, object, string[]][] = [
    ['mode', { mode: 'full', network: true }, []],
    ['network', { network: true }, []],
    ['network', { network: ['github.com'] }, []],
    ['writableRoots', { writableRoots: ['/'] }, []],
    ['allowGitWrites', { allowGitWrites: true }, []],
    ['allowUnixSockets', { allowUnixSockets: true }, []],
    ['allowUnixSockets', { allowUnixSockets: ['/tmp/tmux-0'] }, []],
    ['tmp', { tmp: 'host' }, []],
    ['mode', { mode: 'workspace-write' }, ['--mode', 'read-only']],
    ['rules["/"]', { rules: { '/': 'write' } }, []],
    ['filesystem', { filesystem: { allowWrite: ['/'] } }, []],
    ['colour', { colour: 'blue' }, []],
    ['readOnly[0]', { readOnly: ['./secret/key'] }, ['--deny-read', '../secret']],
    ['rules', { denyRead: ['./secret'], rules: { './secret/key': 'read' } }, []],
  ];
  for (const [key, content, flags] of widening) {
    it(`refuses ${JSON.stringify(content)}${flags.length ? ` with ${flags.join(' ')}` : ''}: exit 2 naming file, key and --config; nothing runs`, () => {
      const f = path.join(P, '.sbx-native.json');
      fs.writeFileSync(f, JSON.stringify(content));
      const before = snapshot(D);
      const r = cli(['exec', ...flags, '--', '/bin/sh', '-c', `touch ${P}/ran`], path.join(P, 'sub'));
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${f}: ${key}`);
      expect(r.stderr).toContain(`--config ${f}`);
      expect(r.stdout).toBe('');
      expect(snapshot(D)).toEqual(before);
    });
  }

  it('the explicit --config FILE is the opt-in for the same file; --no-config ignores discovered files', () => {
    const f = path.join(P, 'sbx-native.json');
    fs.writeFileSync(f, JSON.stringify({ writableRoots: [path.join(P, 'sub')], tmp: 'none' }));
    expect(cli(['exec', '--', 'true'], P).status).toBe(2);
    const opted = cli(['exec', '--config', f, '--', '/bin/sh', '-c', 'echo x > sub/ok; echo y > top'], P);
    expect(opted.status).toBe(2); // sh: top is read-only
    expect(fs.readFileSync(path.join(P, 'sub', 'ok'), 'utf8')).toBe('x\n');
    expect(fs.existsSync(path.join(P, 'top'))).toBe(false);
    const ignored = cli(['exec', '--no-config', '-v', '--tmp', 'none', '--', '/bin/sh', '-c', 'echo y > top'], P);
    expect(ignored.status).toBe(0);
    expect(ignored.stderr).toContain('sbx-native: config: none (--no-config)');
  });

  it('narrowing files apply, every one from the cwd upwards, and -v names each', () => {
    fs.mkdirSync(path.join(P, 'vendor'));
    const top = path.join(P, '.sbx-native.json');
    const near = path.join(P, 'sub', 'sbx-native.json');
    fs.writeFileSync(
      top,
      JSON.stringify({
        $schema: 'x',
        denyRead: ['./secret'],
        readOnly: ['./vendor'],
        protect: ['notes'],
        network: false,
        tmp: 'private',
        writableRoots: [],
      }),
    );
    // A nearer file cannot shadow the farther one's restrictions.
    fs.writeFileSync(near, JSON.stringify({ rules: { [path.join(P, 'sub', 'deep')]: 'none' }, allowGitWrites: false }));
    const r = cli(
      [
        'exec',
        '-v',
        '-w',
        P,
        '--',
        '/bin/sh',
        '-c',
        `cat ${P}/secret/key; echo; ls ${P}/sub/deep | wc -l; echo x > ${P}/vendor/x || echo vendor-ro; echo x > ${P}/notes || echo notes-ro; ` +
          `echo x > /tmp/sbx-trust-private-${process.pid} && echo tmp-ok; echo x > ${P}/w && echo w-ok`,
      ],
      path.join(P, 'sub'),
    );
    expect(r.stderr).toContain(`sbx-native: config: ${near} (discovered: may only narrow)`);
    expect(r.stderr).toContain(`sbx-native: config: ${top} (discovered: may only narrow)`);
    expect(r.stdout).toBe('\n0\nvendor-ro\nnotes-ro\ntmp-ok\nw-ok\n');
    expect(r.status).toBe(0);
    expect(fs.existsSync(`/tmp/sbx-trust-private-${process.pid}`)).toBe(false);
    expect(fs.readFileSync(path.join(P, 'w'), 'utf8')).toBe('x\n');

    // writableRoots: [] and mode read-only narrow the default (the cwd).
    fs.writeFileSync(top, JSON.stringify({ writableRoots: [] }));
    fs.rmSync(near);
    expect(cli(['exec', '--tmp', 'none', '--', '/bin/sh', '-c', 'echo x > here'], P).status).toBe(2);
    fs.writeFileSync(top, JSON.stringify({ mode: 'read-only' }));
    expect(cli(['exec', '--', '/bin/sh', '-c', 'echo x > here'], P).status).toBe(2);
    expect(fs.existsSync(path.join(P, 'here'))).toBe(false);
  });

  it("a sandboxed command cannot write the config in use, nor create or replace a discovered name at a root's top (host unchanged)", () => {
    // The discovered file sits between the root's top and the cwd: not a protected name there, guarded as in use.
    const inUse = path.join(P, 'sub', '.sbx-native.json');
    fs.writeFileSync(inUse, JSON.stringify({ denyRead: ['../secret'] }));
    const explicit = path.join(P, 'policy.json');
    fs.writeFileSync(explicit, JSON.stringify({ tmp: 'none' }));
    fs.writeFileSync(path.join(P, 'sub', 'deep', 'planted.json'), '{}');
    const before = snapshot(D);
    const ops = `[
      ['write-in-use', () => fs.writeFileSync(${JSON.stringify(inUse)}, '{"mode":"full"}')],
      ['unlink-in-use', () => fs.unlinkSync(${JSON.stringify(inUse)})],
      ['replace-in-use', () => fs.renameSync(${JSON.stringify(path.join(P, 'sub', 'deep', 'planted.json'))}, ${JSON.stringify(inUse)})],
      ['create-top-dot', () => fs.writeFileSync(${JSON.stringify(path.join(P, '.sbx-native.json'))}, '{}')],
      ['create-top', () => fs.writeFileSync(${JSON.stringify(path.join(P, 'sbx-native.json'))}, '{}')],
      ['symlink-top', () => fs.symlinkSync('sub/deep/planted.json', ${JSON.stringify(path.join(P, 'sbx-native.json'))})],
      ['rename-top', () => fs.renameSync(${JSON.stringify(path.join(P, 'sub', 'deep', 'planted.json'))}, ${JSON.stringify(path.join(P, '.sbx-native.json'))})],
    ]`;
    expect(cliProbe(['-w', P, '--tmp', 'none'], ops, path.join(P, 'sub'))).toEqual({
      'write-in-use': 'EROFS',
      'unlink-in-use': 'EBUSY',
      'replace-in-use': 'EBUSY',
      'create-top-dot': 'EROFS',
      'create-top': 'EROFS',
      'symlink-top': 'EROFS',
      'rename-top': 'EROFS',
    });
    expect(snapshot(D)).toEqual(before);
    // The file named by --config, inside the root; and an existing discovered name at the top.
    fs.writeFileSync(path.join(P, '.sbx-native.json'), '{}');
    const before2 = snapshot(D);
    expect(
      cliProbe(
        ['--config', explicit, '-w', P],
        `[
      ['write-explicit', () => fs.appendFileSync(${JSON.stringify(explicit)}, ' ')],
      ['write-top', () => fs.writeFileSync(${JSON.stringify(path.join(P, '.sbx-native.json'))}, '{"network":true}')],
      ['replace-top', () => fs.renameSync(${JSON.stringify(path.join(P, 'sub', 'deep', 'planted.json'))}, ${JSON.stringify(path.join(P, '.sbx-native.json'))})],
    ]`,
        P,
      ),
    ).toEqual({ 'write-explicit': 'EROFS', 'write-top': 'EROFS', 'replace-top': 'EBUSY' });
    expect(snapshot(D)).toEqual(before2);
  });
});

describe(`the host-facts cache decides nothing a sandbox could forge (as ${userLabel})`, () => {
  let D: string, cache: string, file: string;
  beforeEach(() => {
    D = tempDir('sbx-hostcache-');
    cache = path.join(D, 'cache');
    file = path.join(cache, 'sbx-native', 'host.json');
  });
  afterEach(() => rmTree(D));
  const env = () => ({ ...process.env, XDG_CACHE_HOME: cache });

  it('is read-only inside a sandbox whose root holds it: existing or not (errno, host unchanged)', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.mkdirSync(path.join(D, 'x'));
    const before = snapshot(D);
    const ops = `[
      ['create', () => fs.writeFileSync(${JSON.stringify(file)}, 'forged')],
      ['symlink', () => fs.symlinkSync('/etc/passwd', ${JSON.stringify(file)})],
      ['rename-onto', () => fs.renameSync(${JSON.stringify(path.join(D, 'x'))}, ${JSON.stringify(file)})],
    ]`;
    expect(await probe(ops, { writableRoots: [D], tmp: 'none' }, { env: env() })).toEqual({
      create: 'EROFS',
      symlink: 'EROFS',
      'rename-onto': 'EROFS',
    });
    expect(snapshot(D)).toEqual(before);
    fs.writeFileSync(file, JSON.stringify({ key: bootKey(), userns: { ok: true, detail: 'x' } }));
    const before2 = snapshot(D);
    expect(
      await probe(
        `[
      ['write', () => fs.writeFileSync(${JSON.stringify(file)}, 'forged')],
      ['unlink', () => fs.unlinkSync(${JSON.stringify(file)})],
    ]`,
        { writableRoots: [D], tmp: 'none' },
        { env: env() },
      ),
    ).toEqual({ write: 'EROFS', unlink: 'EBUSY' });
    expect(snapshot(D)).toEqual(before2);
  });

  it('a cached "no user namespaces" is probed again, not believed: full enforcement, no false refusal', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ key: bootKey(), userns: { ok: false, detail: 'forged' } }));
    const strict = cli(['exec', '--tmp', 'none', '--', 'true'], D, { XDG_CACHE_HOME: cache });
    expect(strict.stderr).toBe('');
    expect(strict.status).toBe(0);
    fs.writeFileSync(file, JSON.stringify({ key: bootKey(), userns: { ok: false, detail: 'forged' } }));
    const degraded = cli(['exec', '--allow-degraded', '--tmp', 'none', '-v', '--', 'true'], D, { XDG_CACHE_HOME: cache });
    expect(degraded.stderr).toMatch(/enforcement: level full/);
    expect(degraded.stderr).not.toMatch(/degraded/);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).userns.ok).toBe(true); // the probe's answer replaced the forged one
  });

  it('--allow-degraded: a cached "works" that fails at run time is probed again and degrades as promised (then fails closed inside a supervised sandbox)', async () => {
    // A sandbox in mode 'full' is a host where user namespaces fail (nested: unshare EPERM) with the same cache.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ key: bootKey(), userns: { ok: true, detail: 'user namespace with mounts works' } }));
    fs.mkdirSync(path.join(D, 'w'));
    const inner = (extra: string[]) =>
      run(
        process.execPath,
        [bin, 'exec', ...extra, '--tmp', 'none', '-w', path.join(D, 'w'), '--', '/bin/sh', '-c', `echo inner > ${D}/w/ran`],
        { sandbox: { mode: 'full' }, env: { ...baseEnv, XDG_CACHE_HOME: cache } },
      );
    const strict = await inner([]);
    expect(strict.code).toBe(125); // without the flag: fail closed
    expect(strict.stderr).toMatch(/^sbx-native: unshare: /);
    fs.writeFileSync(file, JSON.stringify({ key: bootKey(), userns: { ok: true, detail: 'user namespace with mounts works' } }));
    const r = await inner(['--allow-degraded']);
    expect(r.stderr).toMatch(/sbx-native: unshare failed \(.*EPERM.*\); probed again: user namespaces are unusable\n/);
    expect(r.stderr).toMatch(
      /sbx-native: degraded enforcement \(landlock-only\): user namespaces are unusable \(unshare failed with EPERM\)/,
    );
    // The outer sandbox supervises (the unix-socket rule holds in mode 'full' too), so its filter refuses
    // openat2 and nested Landlock domains: the degraded inner sandbox fails closed at its first Landlock step.
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/\nsbx-native: landlock_path: open \/: ENOSYS/);
    expect(fs.existsSync(path.join(D, 'w', 'ran'))).toBe(false);
    // The library's run() with allowDegraded does the same.
    fs.writeFileSync(file, JSON.stringify({ key: bootKey(), userns: { ok: true, detail: 'user namespace with mounts works' } }));
    const lib = await run(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(path.join(repoRoot, 'dist'))}).run('/bin/sh', ['-c', 'echo lib'], ` +
          `{ allowDegraded: true, sandbox: { tmp: 'none', writableRoots: [] } }).then((r) => console.log(JSON.stringify(r)), (e) => console.log(JSON.stringify({ error: e.message, step: e.step })))`,
      ],
      { sandbox: { mode: 'full' }, env: { ...baseEnv, XDG_CACHE_HOME: cache } },
    );
    const res = JSON.parse(lib.stdout);
    expect(res).toMatchObject({ step: 'landlock_path' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).userns.ok).toBe(false); // (this cache is the nested host's: writable in mode 'full')
  });
});

describe(`sbx-native protects itself inside a writable root (as ${userLabel})`, () => {
  let D: string, proj: string, pkg: string, binCopy: string;
  beforeEach(() => {
    // An installed copy: proj/node_modules/sbx-native with its runtime dependencies hoisted beside it and a .bin link.
    D = tempDir('sbx-self-');
    proj = path.join(D, 'proj');
    const nm = path.join(proj, 'node_modules');
    pkg = path.join(nm, 'sbx-native');
    fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
    for (const n of ['package.json', 'bin', 'dist']) fs.cpSync(path.join(repoRoot, n), path.join(pkg, n), { recursive: true });
    const built = path.dirname(native().helper);
    for (const n of ['sbx-helper', 'sbx_native.node']) fs.copyFileSync(path.join(built, n), path.join(pkg, 'build', 'Release', n));
    fs.chmodSync(path.join(pkg, 'build', 'Release', 'sbx-helper'), 0o755);
    for (const dep of ['node-gyp-build', 'node-addon-api', 'smol-toml']) {
      fs.cpSync(fs.realpathSync(path.join(repoRoot, 'node_modules', dep)), path.join(nm, dep), { recursive: true });
    }
    fs.mkdirSync(path.join(nm, '.bin'));
    fs.symlinkSync('../sbx-native/bin/sbx-native.js', path.join(nm, '.bin', 'sbx-native'));
    binCopy = path.join(nm, '.bin', 'sbx-native');
  });
  afterEach(() => rmTree(D));

  it('its files, helper, dependencies and .bin link are read-only; planted copies cannot be created (errno, host unchanged)', () => {
    const v = cli(['exec', '-v', '--tmp', 'none', '--', 'true'], proj, {}, binCopy);
    expect(v.status).toBe(0);
    expect(v.stderr).toContain(`sbx-native: read-only: ${pkg} (sbx-native itself)`);
    expect(v.stderr).toContain(`sbx-native: read-only: ${proj}/node_modules/node-gyp-build (sbx-native's dependency node-gyp-build)`);
    expect(v.stderr).toContain(`sbx-native: read-only: ${binCopy} (sbx-native's .bin entry (symlink: the name is pinned))`);
    fs.writeFileSync(path.join(proj, 'evil.js'), 'evil()');
    const before = snapshot(proj);
    const q = JSON.stringify;
    const out = cliProbe(
      ['--tmp', 'none'],
      `[
      ['bin', () => fs.appendFileSync(${q(path.join(pkg, 'bin', 'sbx-native.js'))}, 'evil()')],
      ['dist', () => fs.writeFileSync(${q(path.join(pkg, 'dist', 'cli.js'))}, 'evil()')],
      ['dist-new', () => fs.writeFileSync(${q(path.join(pkg, 'dist', 'evil.js'))}, 'evil()')],
      ['package.json', () => fs.writeFileSync(${q(path.join(pkg, 'package.json'))}, '{}')],
      ['helper', () => fs.writeFileSync(${q(path.join(pkg, 'build', 'Release', 'sbx-helper'))}, 'evil')],
      ['addon-rm', () => fs.unlinkSync(${q(path.join(pkg, 'build', 'Release', 'sbx_native.node'))})],
      ['build-debug', () => fs.mkdirSync(${q(path.join(pkg, 'build', 'Debug'))})],
      ['prebuilds', () => fs.mkdirSync(${q(path.join(pkg, 'prebuilds'))})],
      ['shadow-dep', () => fs.mkdirSync(${q(path.join(pkg, 'node_modules'))})],
      ['shadow-dep-dist', () => fs.mkdirSync(${q(path.join(pkg, 'dist', 'node_modules'))})],
      ['dep', () => fs.writeFileSync(${q(path.join(proj, 'node_modules', 'node-gyp-build', 'index.js'))}, 'evil()')],
      ['dep-toml', () => fs.writeFileSync(${q(path.join(proj, 'node_modules', 'smol-toml', 'package.json'))}, '{}')],
      ['bin-link-rm', () => fs.unlinkSync(${q(binCopy)})],
      ['bin-link-replace', () => fs.renameSync(${q(path.join(proj, 'evil.js'))}, ${q(binCopy)})],
      ['project-still-writable', () => { fs.writeFileSync(${q(path.join(proj, 'out.txt'))}, 'x'); fs.unlinkSync(${q(path.join(proj, 'out.txt'))}); }],
    ]`,
      proj,
      {},
      binCopy,
    );
    expect(out).toEqual({
      bin: 'EROFS',
      dist: 'EROFS',
      'dist-new': 'EROFS',
      'package.json': 'EROFS',
      helper: 'EROFS',
      'addon-rm': 'EROFS',
      'build-debug': 'EROFS',
      prebuilds: 'EROFS',
      'shadow-dep': 'EROFS',
      'shadow-dep-dist': 'EROFS',
      dep: 'EROFS',
      'dep-toml': 'EROFS',
      'bin-link-rm': 'EBUSY',
      'bin-link-replace': 'EBUSY',
      'project-still-writable': 'ok',
    });
    const after = snapshot(proj);
    delete before['.'];
    delete after['.']; // the project directory's mtime (out.txt came and went)
    expect(after).toEqual(before);
  });

  it('a sandbox started by another sbx-native (global, npx cache) cannot patch the copy `npx sbx-native` would run here', () => {
    const before = snapshot(proj);
    const q = JSON.stringify;
    expect(
      cliProbe(
        ['--tmp', 'none'],
        `[
      ['bin', () => fs.appendFileSync(${q(path.join(pkg, 'bin', 'sbx-native.js'))}, 'evil()')],
      ['dep', () => fs.writeFileSync(${q(path.join(proj, 'node_modules', 'node-gyp-build', 'index.js'))}, 'evil()')],
      ['bin-link-rm', () => fs.unlinkSync(${q(binCopy)})],
    ]`,
        path.join(proj),
        {},
        bin,
      ),
    ).toEqual({ bin: 'EROFS', dep: 'EROFS', 'bin-link-rm': 'EBUSY' });
    expect(snapshot(proj)).toEqual(before);
  });
});

describe(`sbx-native protects itself in a pnpm layout (as ${userLabel})`, () => {
  // node_modules/sbx-native is a symlink into node_modules/.pnpm, the dependencies are symlinks beside
  // the real package, and node_modules/.bin/sbx-native is a shell shim (pnpm's layout).
  let D: string, proj: string, store: string, real: string, shim: string;
  beforeEach(() => {
    D = tempDir('sbx-self-pnpm-');
    proj = path.join(D, 'proj');
    store = path.join(proj, 'node_modules', '.pnpm');
    const beside = path.join(store, 'sbx-native@0.1.0', 'node_modules');
    real = path.join(beside, 'sbx-native');
    fs.mkdirSync(path.join(real, 'build', 'Release'), { recursive: true });
    for (const n of ['package.json', 'bin', 'dist']) fs.cpSync(path.join(repoRoot, n), path.join(real, n), { recursive: true });
    const built = path.dirname(native().helper);
    for (const n of ['sbx-helper', 'sbx_native.node']) fs.copyFileSync(path.join(built, n), path.join(real, 'build', 'Release', n));
    fs.chmodSync(path.join(real, 'build', 'Release', 'sbx-helper'), 0o755);
    for (const dep of ['node-gyp-build', 'node-addon-api', 'smol-toml']) {
      const at = path.join(store, `${dep}@1`, 'node_modules', dep);
      fs.mkdirSync(path.dirname(at), { recursive: true });
      fs.cpSync(fs.realpathSync(path.join(repoRoot, 'node_modules', dep)), at, { recursive: true });
      fs.symlinkSync(path.relative(beside, at), path.join(beside, dep));
    }
    fs.symlinkSync('.pnpm/sbx-native@0.1.0/node_modules/sbx-native', path.join(proj, 'node_modules', 'sbx-native'));
    fs.mkdirSync(path.join(proj, 'node_modules', '.bin'));
    shim = path.join(proj, 'node_modules', '.bin', 'sbx-native');
    fs.writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "$(dirname "$0")/../sbx-native/bin/sbx-native.js" "$@"\n`, {
      mode: 0o755,
    });
    fs.writeFileSync(path.join(proj, 'evil.js'), 'evil()');
  });
  afterEach(() => rmTree(D));

  it('the package name symlink, the real package, the dependency symlinks and the shim stay put (errno, host unchanged)', () => {
    const before = snapshot(proj);
    const q = JSON.stringify;
    const nm = path.join(proj, 'node_modules');
    const src = `const fs = require('fs'); const out = {};
      for (const [label, fn] of [
        ['name-rm', () => fs.unlinkSync(${q(path.join(nm, 'sbx-native'))})],
        ['name-replace', () => fs.renameSync(${q(path.join(proj, 'evil.js'))}, ${q(path.join(nm, 'sbx-native'))})],
        ['real-bin', () => fs.appendFileSync(${q(path.join(real, 'bin', 'sbx-native.js'))}, 'evil()')],
        ['real-new', () => fs.mkdirSync(${q(path.join(real, 'prebuilds'))})],
        ['dep-link-rm', () => fs.unlinkSync(${q(path.join(path.dirname(real), 'node-gyp-build'))})],
        ['dep-real', () => fs.writeFileSync(${q(path.join(store, 'node-gyp-build@1', 'node_modules', 'node-gyp-build', 'index.js'))}, 'evil()')],
        ['shim-write', () => fs.writeFileSync(${q(shim)}, '#!/bin/sh\\nevil')],
        ['shim-replace', () => fs.renameSync(${q(path.join(proj, 'evil.js'))}, ${q(shim)})],
      ]) { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } }
      process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(shim, ['exec', '--tmp', 'none', '--', process.execPath, '-e', src], { cwd: proj, encoding: 'utf8', env: baseEnv });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      'name-rm': 'EBUSY',
      'name-replace': 'EBUSY',
      'real-bin': 'EROFS',
      'real-new': 'EROFS',
      'dep-link-rm': 'EBUSY',
      'dep-real': 'EROFS',
      'shim-write': 'EROFS',
      'shim-replace': 'EBUSY',
    });
    expect(snapshot(proj)).toEqual(before);
  });

  // pnpm's content-addressable store hard-links every installed file, and its
  // users give the store as a writable root (hard links from it into
  // node_modules are why sbx-native shares one mount). Each name of a guarded
  // file is read-only: the package's own, a dependency's, and the store's.
  for (const flags of [[], ['--allow-git-writes']])
    it(`a second name of its files in a writable store (a hard link, as pnpm makes) cannot be written${flags.length ? ` (${flags.join(' ')})` : ''} (errno, host unchanged)`, () => {
      const cafs = path.join(D, 'cafs');
      fs.mkdirSync(cafs);
      const dep = path.join(store, 'node-gyp-build@1', 'node_modules', 'node-gyp-build', 'index.js');
      const names = { bin: path.join(real, 'bin', 'sbx-native.js'), dist: path.join(real, 'dist', 'index.js'), dep };
      for (const [k, f] of Object.entries(names)) fs.linkSync(f, path.join(cafs, k));
      // The store's own entries change (a file made and removed there); the linked files must not.
      const linked = () => [
        snapshot(proj),
        Object.keys(names).map((k) => fs.readFileSync(path.join(cafs, k), 'utf8') + fs.statSync(path.join(cafs, k)).mode),
      ];
      const before = linked();
      const q = JSON.stringify;
      const src = `const fs = require('fs'); const out = {};
        for (const n of ${q(Object.keys(names))}) {
          const f = ${q(cafs)} + '/' + n;
          for (const [label, fn] of [['append', () => fs.appendFileSync(f, 'evil()')], ['chmod', () => fs.chmodSync(f, 0o777)]])
            try { fn(); out[n + ' ' + label] = 'ok'; } catch (e) { out[n + ' ' + label] = e.code || String(e); }
        }
        fs.writeFileSync(${q(path.join(cafs, 'own'))}, 'x'); fs.appendFileSync(${q(path.join(cafs, 'own'))}, 'y'); out.own = fs.readFileSync(${q(path.join(cafs, 'own'))}, 'utf8');
        fs.unlinkSync(${q(path.join(cafs, 'own'))});
        process.stdout.write(JSON.stringify(out));`;
      const r = spawnSync(shim, ['exec', '--tmp', 'none', ...flags, '-w', proj, '-w', cafs, '--', process.execPath, '-e', src], {
        cwd: proj,
        encoding: 'utf8',
        env: baseEnv,
      });
      expect(JSON.parse(r.stdout)).toEqual({
        'bin append': 'EROFS',
        'dist append': 'EROFS',
        'dep append': 'EROFS',
        'bin chmod': 'EROFS',
        'dist chmod': 'EROFS',
        'dep chmod': 'EROFS',
        own: 'xy',
      });
      expect(r.stderr).toMatch(/blocked: .*cafs\/bin.*second name of a protected file/s);
      expect(linked()).toEqual(before);
    });
});

describe(`nothing silently ignored, no secrets in output (as ${userLabel})`, () => {
  let D: string;
  beforeEach(() => {
    D = tempDir('sbx-ignored-');
  });
  afterEach(() => rmTree(D));

  it('--dry-run prints environment variable names, not values, unless --dry-run-env-values', () => {
    const secret = `sk-${process.pid}-do-not-print`;
    const r = cli(['exec', '--dry-run', '--env', `API_KEY=${secret}`, '--', 'true'], D, { OTHER_TOKEN: secret });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(secret);
    const env = JSON.parse(r.stdout)
      .plan.steps.filter((s: { op: string }) => s.op === 'env')
      .map((s: { args: string[] }) => s.args);
    expect(env).toContainEqual(['API_KEY']);
    expect(env).toContainEqual(['OTHER_TOKEN']);
    const shown = cli(['exec', '--dry-run', '--dry-run-env-values', '--env', `API_KEY=${secret}`, '--', 'true'], D);
    expect(shown.stdout).toContain(`API_KEY=${secret}`);
    expect(cli(['exec', '--dry-run-env-values', '--', 'true'], D).status).toBe(2);
  });

  it("deny-read (and the other filesystem carve-outs) in mode 'full' are refused, not ignored: the secret is not printed", async () => {
    fs.writeFileSync(path.join(D, 'secret'), 'TOKEN');
    const r = cli(['exec', '--mode', 'full', '--deny-read', path.join(D, 'secret'), '--', 'cat', path.join(D, 'secret')], D);
    expect(r.status).toBe(2);
    expect(r.stdout).not.toContain('TOKEN');
    expect(r.stderr).toMatch(/denyRead = .*: mode 'full' has no filesystem restriction, so this cannot be enforced/);
    for (const sandbox of [
      { denyRead: [D] },
      { readOnly: [D] },
      { rules: { [D]: 'none' as const } },
      { protect: ['x'] },
      { tmp: 'private' as const },
    ]) {
      expect(() => prepare('/bin/cat', [], { sandbox: { mode: 'full', ...sandbox } })).toThrow(/mode 'full' has no filesystem restriction/);
    }
    await expect(run('/bin/cat', [path.join(D, 'secret')], { sandbox: { mode: 'full', denyRead: [D] } })).rejects.toThrow(/denyRead/);
    expect(prepare('/bin/true', [], { sandbox: { mode: 'full', rules: { [D]: 'write' }, tmp: 'host' } }).policy.mode).toBe('full');
  });
});
