// The real uv (from PyPI, installed by test/clients.ts into a cache outside
// the repository) with its cache and a project as two writable roots on one
// filesystem, outside /tmp (the sandbox's /tmp is a mount of its own), as in
// the reports that started the project (/work/shared/seeds 000, 002, 003):
// hard links from the cache into .venv, the cache's temp-dir renames and
// RENAME_NOREPLACE locks, its `.git` marker files, and the same on an
// overlayfs-backed home. bubblewrap with one bind per root is the baseline.
// Offline throughout: the sandbox has no network; the wheels are downloaded
// (or built) once by the set-up.
import { execFileSync, spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installPyPIPackage, localToolWheel, pypiWheels, systemPython } from './clients';
import { bwrapPath, bwrapSh, probe, repoRoot, rmTree, sh, snapshot, userLabel } from './helpers';

const UV_VERSION = '0.13.9';
const WHEELS = ['six==1.17.0', 'idna==3.10', 'packaging==24.2', 'iniconfig==2.0.0', 'pluggy==1.5.0'];
const PKGS = ['six', 'idna', 'packaging', 'iniconfig', 'pluggy'];
const HARDLINK_WARNING = /Failed to hardlink files; falling back to full copy/;
const gitEnv = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'a',
  GIT_AUTHOR_EMAIL: 'a@b',
  GIT_COMMITTER_NAME: 'a',
  GIT_COMMITTER_EMAIL: 'a@b',
};
const cli = path.join(repoRoot, 'bin', 'sbx-native.js');

let uv: string, wheels: string, toolWheels: string;

/** process.env without the caller's uv settings (UV_LINK_MODE=copy, an index URL...), which would change what is tested. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('UV_') || k === 'VIRTUAL_ENV') delete env[k];
  return env;
}

beforeAll(() => {
  // PyPI is reachable on this machine kind: a failed install fails the tests.
  const u = installPyPIPackage('uv', UV_VERSION);
  if ('why' in u) throw new Error(u.why);
  uv = path.join(u.dir, 'bin', 'uv');
  const w = pypiWheels('uv-test-1', WHEELS);
  if ('why' in w) throw new Error(w.why);
  wheels = w.dir;
  const t = localToolWheel('sbxhello', '1.0.0', 'sbx-hello', 'hello from a local tool');
  if ('why' in t) throw new Error(t.why);
  toolWheels = t.dir;
  expect(execFileSync(uv, ['--version'], { encoding: 'utf8' })).toContain(UV_VERSION);
}, 600_000);

/** A home-like directory outside /tmp that root and nobody can both create (/var/tmp is sticky and world-writable). */
function homeDir(): string {
  const dir = fs.mkdtempSync('/var/tmp/sbx-uv-');
  fs.chmodSync(dir, 0o755);
  return fs.realpathSync(dir);
}

/** The snapshot of `dir` without the entries at or under `roots`: what must not change. */
function outside(dir: string, roots: string[]): Record<string, string> {
  const rel = roots.map((r) => path.relative(dir, r));
  const s = snapshot(dir);
  for (const k of Object.keys(s)) if (rel.some((r) => k === r || k.startsWith(`${r}/`))) delete s[k];
  return s;
}

/** Regular files under dir. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const f = path.join(p, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile()) out.push(f);
    }
  };
  walk(dir);
  return out;
}

/**
 * The installed package files of `pkgs` in a venv (not dist-info metadata,
 * which uv writes anew, nor `__pycache__`, which Python writes at import
 * unless PYTHONDONTWRITEBYTECODE is set in the caller's environment).
 */
function installed(venv: string, pkgs: string[]): string[] {
  const site = path.join(
    venv,
    'lib',
    fs.readdirSync(path.join(venv, 'lib')).find((n) => n.startsWith('python'))!,
    'site-packages',
  );
  const out: string[] = [];
  for (const p of pkgs) {
    if (fs.existsSync(path.join(site, `${p}.py`))) out.push(path.join(site, `${p}.py`));
    else out.push(...files(path.join(site, p)).filter((f) => !f.split(path.sep).includes('__pycache__')));
  }
  return out;
}

function cacheInodes(cache: string): Set<number> {
  return new Set(files(path.join(cache, 'archive-v0')).map((f) => fs.statSync(f).ino));
}

describe(`the real uv ${UV_VERSION}: cache and project in two roots (as ${userLabel})`, () => {
  let H: string, cache: string, proj: string, env: NodeJS.ProcessEnv, before: Record<string, string>;
  const sandbox = () => ({ writableRoots: [proj, cache] });
  const install = (pkgs: string[]) =>
    `${uv} venv --python ${systemPython} .venv && ${uv} pip install --offline --no-index --find-links ${wheels} ${pkgs.join(' ')}`;
  beforeEach(() => {
    H = homeDir();
    cache = path.join(H, '.cache', 'uv');
    proj = path.join(H, 'proj');
    fs.mkdirSync(cache, { recursive: true });
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(H, '.profile'), '# home\n');
    fs.writeFileSync(path.join(H, 'notes'), 'outside both roots\n');
    env = { ...cleanEnv(), HOME: H, UV_CACHE_DIR: cache, UV_PYTHON_DOWNLOADS: 'never', UV_NO_CONFIG: '1', PIP_FIND_LINKS: '', ...gitEnv };
    before = outside(H, [proj, cache]);
  });
  afterEach(() => {
    // Nothing outside the two roots changed, whatever the test did inside them.
    expect(outside(H, [proj, cache])).toEqual(before);
    rmTree(H);
  });

  it('seed 000: uv venv + uv pip install hard-link every file from the cache into .venv; bubblewrap copies with the warning', async () => {
    const r = await sh(
      `${install(PKGS)} && .venv/bin/python -c 'import six, idna, packaging, iniconfig, pluggy; print(six.__version__, idna.__version__)'`,
      sandbox(),
      { cwd: proj, env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('1.17.0 3.10\n');
    expect(r.stderr).toMatch(/Installed 5 packages/);
    expect(r.stderr).not.toMatch(HARDLINK_WARNING);
    const inCache = cacheInodes(cache);
    const got = installed(path.join(proj, '.venv'), PKGS);
    expect(got.length).toBeGreaterThan(40);
    for (const f of got) {
      const st = fs.statSync(f);
      expect(st.nlink, f).toBeGreaterThanOrEqual(2);
      expect(inCache.has(st.ino), f).toBe(true);
    }
    // Baseline: the same install with the warm cache, one bind per root.
    expect(bwrapPath(), 'bubblewrap is the baseline (apt-get install bubblewrap)').toBeDefined();
    const proj2 = path.join(proj, 'second');
    fs.mkdirSync(proj2);
    const base = bwrapSh(install(PKGS), [cache, proj], proj2, env);
    expect(base.status, base.stderr).toBe(0);
    expect(base.stderr).toMatch(HARDLINK_WARNING);
    const copied = installed(path.join(proj2, '.venv'), PKGS);
    expect(copied.length).toBe(got.length);
    for (const f of copied) expect(fs.statSync(f).nlink, f).toBe(1);
  }, 120_000);

  it('seed 000: uv lock, uv sync and uv run of a small project (offline, local wheels), .venv hard-linked', async () => {
    fs.writeFileSync(
      path.join(proj, 'pyproject.toml'),
      '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.8"\ndependencies = ["six", "idna"]\n',
    );
    fs.writeFileSync(
      path.join(proj, 'main.py'),
      'import idna, six\nprint("demo", six.__version__, idna.encode("bücher.example").decode())\n',
    );
    const src = `--offline --no-index --find-links ${wheels} --python ${systemPython}`;
    const r = await sh(`${uv} lock ${src} && ${uv} sync ${src} && ${uv} run ${src} python main.py`, sandbox(), { cwd: proj, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('demo 1.17.0 xn--bcher-kva.example\n');
    expect(r.stderr).not.toMatch(HARDLINK_WARNING);
    expect(fs.readFileSync(path.join(proj, 'uv.lock'), 'utf8')).toMatch(/name = "six"/);
    const got = installed(path.join(proj, '.venv'), ['six', 'idna']);
    expect(got.length).toBeGreaterThan(5);
    for (const f of got) expect(fs.statSync(f).nlink, f).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it("seed 002: uv's temp directories renamed into archive-v0/ and its RENAME_NOREPLACE locks succeed: no EXDEV, no temp left", () => {
    const traceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-uv-trace-'));
    const trace = path.join(traceDir, 'trace');
    const envArgs = ['HOME', 'UV_CACHE_DIR', 'UV_PYTHON_DOWNLOADS', 'UV_NO_CONFIG'].flatMap((k) => ['--env', `${k}=${env[k]}`]);
    try {
      execFileSync(
        'strace',
        [
          '-f',
          '-ff',
          '-qq',
          '-e',
          'trace=rename,renameat,renameat2,link,linkat',
          '-o',
          trace,
          process.execPath,
          cli,
          'exec',
          '-w',
          proj,
          '-w',
          cache,
          '--cwd',
          proj,
          ...envArgs,
          '--',
          '/bin/sh',
          '-c',
          install(PKGS),
        ],
        { stdio: 'pipe', env },
      );
      // -ff: one file per process, so no call is split into <unfinished> and <resumed> lines.
      const calls = fs
        .readdirSync(traceDir)
        .map((n) => fs.readFileSync(path.join(traceDir, n), 'utf8'))
        .join('');
      const archive = calls.match(/^rename\("[^"]+\/\.tmp\w+", "[^"]+\/archive-v0\/[^"]+"\) = .*$/gm) ?? [];
      const locks = calls.match(/^renameat2\(AT_FDCWD, "[^"]+\/\.tmp\w+", AT_FDCWD, "[^"]+\.lock", RENAME_NOREPLACE\) = .*$/gm) ?? [];
      expect(archive.length).toBe(5); // one unpacked wheel each
      expect(archive.every((l) => l.endsWith(' = 0'))).toBe(true);
      expect(locks.length).toBeGreaterThanOrEqual(3);
      expect(locks.every((l) => l.endsWith(' = 0'))).toBe(true);
      expect(calls).not.toMatch(/EXDEV|EACCES|EPERM|EROFS/);
    } finally {
      rmTree(traceDir);
    }
    expect(fs.readdirSync(path.join(cache, 'archive-v0')).length).toBe(5);
    expect(fs.readdirSync(cache).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    for (const f of installed(path.join(proj, '.venv'), PKGS)) expect(fs.statSync(f).nlink, f).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it("seed 003: uv creates and reopens its cache's empty .git markers; what makes git run code in the project's .git stays read-only (EROFS)", async () => {
    execFileSync('git', ['init', '-q'], { cwd: proj, env });
    fs.writeFileSync(
      path.join(proj, 'pyproject.toml'),
      '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.8"\ndependencies = ["six"]\n',
    );
    execFileSync('git', ['add', '.'], { cwd: proj, env });
    execFileSync('git', ['commit', '-qm', 'x'], { cwd: proj, env });
    const gitBefore = snapshot(path.join(proj, '.git'));
    const run = `${uv} run --offline --no-index --find-links ${wheels} --python ${systemPython} python -c 'import six; print(six.__version__)'`;
    const first = await sh(run, sandbox(), { cwd: proj, env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('1.17.0\n');
    const markers = fs
      .readdirSync(cache)
      .filter((n) => fs.existsSync(path.join(cache, n, '.git')))
      .map((n) => path.join(cache, n, '.git'));
    expect(markers.length).toBeGreaterThanOrEqual(1); // sdists-vN/.git in uv 0.13
    for (const m of markers) {
      expect(fs.statSync(m).isFile()).toBe(true);
      expect(fs.statSync(m).size).toBe(0);
    }
    const second = await sh(run, sandbox(), { cwd: proj, env }); // uv opens the existing markers again
    expect(second.code, second.stderr).toBe(0);
    expect(first.stderr + second.stderr).not.toMatch(/Permission denied|Read-only file system|os error/);
    const j = JSON.stringify;
    const r = await probe(
      `[
      ['open uv marker for writing', () => fs.closeSync(fs.openSync(${j(markers[0])}, 'w'))],
      ['write project .git/config', () => fs.appendFileSync(${j(path.join(proj, '.git', 'config'))}, '[core]\\n')],
      ['create project .git/commondir', () => fs.writeFileSync(${j(path.join(proj, '.git', 'commondir'))}, '/elsewhere\\n')],
      ['create project .git/hooks/pre-commit', () => fs.writeFileSync(${j(path.join(proj, '.git', 'hooks', 'pre-commit'))}, '#!/bin/sh\\n')],
      ['rename project .git away', () => fs.renameSync(${j(path.join(proj, '.git'))}, ${j(path.join(proj, 'git.old'))})],
    ]`,
      sandbox(),
      { cwd: proj, env }, // UV_CACHE_DIR says where uv's markers are: an existing .git file elsewhere cannot be written
    );
    expect(r).toEqual({
      'open uv marker for writing': 'ok',
      'write project .git/config': 'EROFS',
      'create project .git/commondir': 'EROFS',
      'create project .git/hooks/pre-commit': 'EROFS',
      'rename project .git away': 'EROFS',
    });
    expect(snapshot(path.join(proj, '.git'))).toEqual(gitBefore);
  }, 120_000);

  it('pip in a venv: python3 -m venv and pip install from local wheels, pip cache in the cache root', async () => {
    const pipCache = path.join(cache, 'pip');
    const r = await sh(
      `${systemPython} -m venv venv-pip && venv-pip/bin/python -m pip install -q --no-index --find-links ${wheels} six iniconfig && venv-pip/bin/python -c 'import six, iniconfig; print(six.__version__)'`,
      sandbox(),
      { cwd: proj, env: { ...env, PIP_CACHE_DIR: pipCache, PIP_DISABLE_PIP_VERSION_CHECK: '1' } },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('1.17.0\n');
    expect(r.stderr).not.toMatch(/Permission denied|Read-only file system|Errno/);
    expect(installed(path.join(proj, 'venv-pip'), ['six', 'iniconfig']).length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('uv tool run of a local tool: an ephemeral environment in the cache, the entry point runs', async () => {
    const r = await sh(`${uv} tool run --offline --no-index --find-links ${toolWheels} --from sbxhello sbx-hello`, sandbox(), {
      cwd: proj,
      env: { ...env, UV_TOOL_DIR: path.join(cache, 'tools') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello from a local tool\n');
    expect(r.stderr).not.toMatch(HARDLINK_WARNING);
    expect(r.stderr).not.toMatch(/os error|Permission denied/);
    expect(fs.readdirSync(path.join(cache, 'archive-v0')).length).toBeGreaterThanOrEqual(1);
  }, 120_000);
});

// An overlayfs-backed home (a container's): a user and mount namespace of the
// test's own (unprivileged for nobody) mounts the overlay, a nested user
// namespace gives the test's uid back, and sbx-native runs there like on a host.
// The lower layer is the "image": a cache warmed with six and idna and an
// empty project directory. Whether overlayfs can store its own xattrs decides
// what uv can do there: with `userxattr` it can mark a directory moved into a
// lower-backed directory opaque; without it (an unprivileged mount cannot set
// trusted.* xattrs) that rename is EXDEV, uv's own "failed to rename file".
describe(`the real uv on an overlayfs home (as ${userLabel})`, () => {
  let B: string, lower: string, home: string, lowerBefore: Record<string, string>;
  beforeEach(() => {
    B = homeDir();
    lower = path.join(B, 'lower');
    home = path.join(B, 'home');
    for (const d of ['lower/proj', 'upper', 'work', 'home']) fs.mkdirSync(path.join(B, d), { recursive: true });
    const warm = spawnSync(
      '/bin/sh',
      [
        '-c',
        `${uv} venv -q --python ${systemPython} ${B}/warm-venv && VIRTUAL_ENV=${B}/warm-venv ${uv} pip install -q --offline --no-index --find-links ${wheels} six idna`,
      ],
      {
        env: { ...cleanEnv(), UV_CACHE_DIR: path.join(lower, '.cache', 'uv'), UV_NO_CONFIG: '1', UV_PYTHON_DOWNLOADS: 'never' },
        encoding: 'utf8',
      },
    );
    expect(warm.status, warm.stderr).toBe(0);
    rmTree(path.join(B, 'warm-venv'));
    lowerBefore = snapshot(lower);
  });
  afterEach(() => {
    // The lower layer is never written; the namespace (and its mount) is gone with the process.
    expect(snapshot(lower)).toEqual(lowerBefore);
    expect(fs.readdirSync(home)).toEqual([]);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('sbx-test-ovl');
    // overlayfs leaves its work/work directory with mode 0: open it up so the test user can remove the tree.
    const ww = path.join(B, 'work', 'work');
    if (fs.existsSync(ww)) fs.chmodSync(ww, 0o700);
    rmTree(B);
  });

  /** Mounts the overlay (with `extra` options) in fresh namespaces and runs OVERLAY_SCRIPT there as the test's uid. */
  function inOverlay(extra: string): any {
    const inner = path.join(B, 'inner.js');
    fs.writeFileSync(inner, OVERLAY_SCRIPT);
    const cfg = { home, uv, wheels, python: systemPython, dist: path.join(repoRoot, 'dist') };
    const uid = process.getuid!(),
      gid = process.getgid!();
    const r = spawnSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        '--mount',
        '/bin/sh',
        '-c',
        `mount -t overlay -o ${extra}lowerdir=${lower},upperdir=${B}/upper,workdir=${B}/work sbx-test-ovl ${home} && exec unshare --user --map-user=${uid} --map-group=${gid} "$0" "$1" "$2"`,
        process.execPath,
        inner,
        JSON.stringify(cfg),
      ],
      { env: cleanEnv(), encoding: 'utf8', timeout: 300_000 },
    );
    fs.unlinkSync(inner);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.uid).toBe(uid);
    expect(out.fstype).toBe('overlay');
    return out;
  }

  /** six.py's inode in the venv and in the cache, read on the upper layer (overlayfs reports a copied-up file with its lower inode number). */
  function upperLinked(venv: string, cache: string): boolean {
    const six = (dir: string) =>
      files(dir)
        .filter((f) => f.endsWith('/six.py'))
        .map((f) => fs.statSync(f).ino);
    const [v] = six(path.join(B, 'upper', venv));
    const c = six(path.join(B, 'upper', cache, 'archive-v0'));
    return v !== undefined && c.includes(v);
  }

  it("with userxattr (xattrs usable): cache -> .venv links across roots, new cache entries, and renameNoReplace past the kernel's EXDEV, as outside the sandbox", () => {
    const out = inOverlay('userxattr,');
    // A cache created on the overlay and the image's cache: both hard-link into .venv (the latter after copy-up).
    expect(out.fresh).toMatchObject({ code: 0, warning: false, installed: 2, nlink: 2 });
    expect(upperLinked('proj/.venv-fresh', 'fresh-cache')).toBe(true);
    expect(out.warm).toMatchObject({ code: 0, warning: false, installed: 2, nlink: 2 });
    expect(upperLinked('proj/.venv-warm', '.cache/uv')).toBe(true);
    // A package the image's cache lacks: uv's temp dir renamed into the lower-backed archive-v0/.
    expect(out.newHost).toMatchObject({ code: 0, installed: 1 });
    expect(out.newSbx).toMatchObject({ code: 0, warning: false, installed: 1 });
    expect(out.newSbx.stderr).not.toMatch(/os error/);
    // Moving a directory of the lower layer (no redirect_dir): the kernel's EXDEV, outside and inside;
    // renameNoReplace (sbx-native's export for Node tools) copies it beside dst and publishes it.
    expect(out.lowerDirHost).toBe('EXDEV');
    expect(out.node).toEqual({ renameat2: 'EXDEV', renameNoReplaceSync: 'ok', published: true, srcGone: true, again: 'EEXIST' });
  }, 300_000);

  it("without xattrs (an unprivileged mount without userxattr): uv's EXDEV on a new cache entry is the kernel's, word for word the same outside the sandbox", () => {
    const out = inOverlay('');
    // Links still work: the sandbox adds no EXDEV between the two roots.
    expect(out.fresh).toMatchObject({ code: 0, warning: false, installed: 2, nlink: 2 });
    expect(out.warm).toMatchObject({ code: 0, warning: false, installed: 2, nlink: 2 });
    const uvExdev =
      /failed to rename file from \S+\/\.cache\/uv\/\.tmp\w+ to \S+\/\.cache\/uv\/archive-v0\/\S+: Invalid cross-device link \(os error 18\)/;
    expect(out.newHost.code).toBe(2);
    expect(out.newHost.stderr).toMatch(uvExdev);
    expect(out.newSbx.code).toBe(2);
    expect(out.newSbx.normalized).toBe(out.newHost.normalized);
    expect(out.lowerDirHost).toBe('EXDEV');
  }, 300_000);
});

/** Runs inside the namespaces with the overlay at cfg.home; prints one JSON object. */
const OVERLAY_SCRIPT = `
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const cfg = JSON.parse(process.argv[2]);
const sbx = require(cfg.dist);
const binding = require(path.join(cfg.dist, 'native')).native().binding;
const home = cfg.home, proj = path.join(home, 'proj'), cache = path.join(home, '.cache', 'uv');
const out = { uid: process.getuid(), fstype: '' };
for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\\n')) {
  const f = l.split(' ');
  if (f[4] === home) out.fstype = f[f.indexOf('-') + 1];
}
const baseEnv = { ...process.env, HOME: home, UV_NO_CONFIG: '1', UV_PYTHON_DOWNLOADS: 'never', PIP_FIND_LINKS: '' };
delete baseEnv.VIRTUAL_ENV;
const install = (venv, pkgs) => cfg.uv + ' venv -q --python ' + cfg.python + ' ' + venv + ' && VIRTUAL_ENV=' + venv + ' ' + cfg.uv + ' pip install --offline --no-index --find-links ' + cfg.wheels + ' ' + pkgs.join(' ');
const sandbox = (c) => ({ writableRoots: [proj, c] });
const norm = (s) => s.replace(/\\.tmp\\w+/g, '.tmpX').replace(/archive-v0\\/[\\w-]+/g, 'archive-v0/X').replace(/\\.venv-\\w+/g, '.venv-X').replace(/ in [\\d.]+m?s\\b/g, ' in T').replace(/packaging==24\\.2|iniconfig==2\\.0\\.0/g, 'PKG');
function summary(r, venv, c) {
  const o = { code: r.code, warning: /Failed to hardlink/.test(r.stderr), installed: (r.stderr.match(/^ \\+ /gm) || []).length, stderr: r.stderr, normalized: norm(r.stderr) };
  try { o.nlink = fs.statSync(path.join(venv, 'lib', fs.readdirSync(path.join(venv, 'lib'))[0], 'site-packages', 'six.py')).nlink; } catch {}
  return o;
}
async function sandboxed(venv, pkgs, c) {
  const r = await sbx.run('/bin/sh', ['-c', install(venv, pkgs)], { cwd: proj, env: { ...baseEnv, UV_CACHE_DIR: c }, sandbox: sandbox(c) });
  return summary(r, venv, c);
}
function host(venv, pkgs, c) {
  const r = spawnSync('/bin/sh', ['-c', install(venv, pkgs)], { cwd: proj, env: { ...baseEnv, UV_CACHE_DIR: c }, encoding: 'utf8' });
  return summary({ code: r.status, stderr: r.stderr }, venv, c);
}
(async () => {
  const fresh = path.join(home, 'fresh-cache');
  fs.mkdirSync(fresh);
  out.fresh = await sandboxed(path.join(proj, '.venv-fresh'), ['six', 'idna'], fresh);
  out.warm = await sandboxed(path.join(proj, '.venv-warm'), ['six', 'idna'], cache);
  out.newHost = host(path.join(proj, '.venv-host'), ['packaging'], cache);
  out.newSbx = await sandboxed(path.join(proj, '.venv-sbx'), ['iniconfig'], cache); // not the same package: the host run may have cached it
  // an archive-v0 entry of the lower layer (the image's), moved to a new name (idna's: six's links are checked afterwards)
  const lowerEntry = fs.readdirSync(path.join(cache, 'archive-v0')).find((n) => fs.existsSync(path.join(cache, 'archive-v0', n, 'idna')));
  const src = path.join(cache, 'archive-v0', lowerEntry);
  out.lowerDirHost = binding.renameat2(src, path.join(cache, 'archive-v0', 'host-moved'), 1) === 18 ? 'EXDEV' : 'other';
  const probe = \`
    const fs = require('fs'), path = require('path');
    const sbx = require(\${JSON.stringify(cfg.dist)});
    const binding = require(path.join(\${JSON.stringify(cfg.dist)}, 'native')).native().binding;
    const src = \${JSON.stringify(src)}, dst = path.join(path.dirname(src), 'moved-entry');
    const o = {};
    o.renameat2 = binding.renameat2(src, dst, 1) === 18 ? 'EXDEV' : 'other';
    try { sbx.renameNoReplaceSync(src, dst); o.renameNoReplaceSync = 'ok'; } catch (e) { o.renameNoReplaceSync = e.code; }
    o.published = fs.existsSync(path.join(dst, 'idna', 'core.py'));
    o.srcGone = !fs.existsSync(src);
    const t = path.join(path.dirname(src), '.again');
    fs.mkdirSync(t);
    try { sbx.renameNoReplaceSync(t, dst); o.again = 'ok'; } catch (e) { o.again = e.code; }
    fs.rmdirSync(t);
    process.stdout.write(JSON.stringify(o));\`;
  const r = await sbx.run(process.execPath, ['-e', probe], { cwd: proj, sandbox: sandbox(cache) });
  out.node = r.code === 0 ? JSON.parse(r.stdout) : { failed: r.stderr };
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;
