// The users: real clients whose caches and projects live in separate roots on
// one filesystem. Each is compared with a bwrap layout (one bind per root)
// when bubblewrap is installed, so the test shows what sbx-native changes.
// uv has its own file, test/uv.test.ts (the real uv from PyPI).
import { execFileSync, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bwrapPath, bwrapSh, isRoot, rmTree, sh, twoRoots, userLabel } from './helpers';

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'a',
  GIT_AUTHOR_EMAIL: 'a@b',
  GIT_COMMITTER_NAME: 'a',
  GIT_COMMITTER_EMAIL: 'a@b',
};

function nlinks(dir: string): number[] {
  const out: number[] = [];
  const walk = (p: string) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const f = path.join(p, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile()) out.push(fs.statSync(f).nlink);
    }
  };
  walk(dir);
  return out;
}

// rustup installs cargo in ~/.cargo/bin, which a login shell puts on PATH and
// CI's environment may not.
const cargoDir = [...(process.env.PATH ?? '').split(':'), path.join(process.env.HOME ?? '/root', '.cargo', 'bin'), '/root/.cargo/bin'].find(
  (d) => d && fs.existsSync(path.join(d, 'cargo')),
);

describe(`real tools across two roots (as ${userLabel})`, () => {
  let H: string, A: string, B: string;
  beforeEach(() => {
    ({ H, A, B } = twoRoots());
  });
  afterEach(() => rmTree(H));

  it('git clone from one root into another hard-links the objects', async () => {
    const src = path.join(A, 'src');
    fs.mkdirSync(src);
    execFileSync('git', ['init', '-q'], { cwd: src, env: gitEnv });
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `f${i}`), `content ${i}\n`);
    execFileSync('git', ['add', '.'], { cwd: src, env: gitEnv });
    execFileSync('git', ['commit', '-qm', 'x'], { cwd: src, env: gitEnv });
    execFileSync('git', ['gc', '-q'], { cwd: src, env: gitEnv });
    // A clone is a new repository (its config and hooks the command's): allowed only with allowGitWrites.
    const r = await sh(
      `git clone -q ${src} ${B}/clone`,
      { writableRoots: [A, B], tmp: 'none', allowGitWrites: true },
      { env: { ...gitEnv, HOME: B } },
    );
    expect(r.stderr).toBe('');
    const links = nlinks(path.join(B, 'clone', '.git', 'objects'));
    expect(links.length).toBeGreaterThan(0);
    expect(links.every((n) => n >= 2)).toBe(true);
    if (!bwrapPath()) return console.warn('bubblewrap not installed: baseline skipped');
    const base = bwrapSh(`git clone -q ${src} ${B}/clone2`, [A, B], H, { ...gitEnv, HOME: B });
    expect(base.status).toBe(0);
    expect(nlinks(path.join(B, 'clone2', '.git', 'objects')).every((n) => n === 1)).toBe(true); // bwrap: EXDEV, git copies
  });

  it('npm install with its cache in another root: no rename fails with EXDEV, cache tmp empty', async () => {
    // A local package, so no network is needed: npm still runs its cache (cacache) writes and renames.
    const pkg = path.join(A, 'dep');
    fs.mkdirSync(pkg);
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'dep', version: '1.0.0' }));
    fs.writeFileSync(path.join(pkg, 'index.js'), 'module.exports = 1;\n');
    execFileSync('npm', ['pack', '--silent', '--pack-destination', A], {
      cwd: pkg,
      env: { ...process.env, npm_config_cache: path.join(H, 'pack-cache') },
    });
    const proj = path.join(B, 'proj');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'proj', version: '1.0.0' }));
    const cache = path.join(A, 'npm-cache');
    const trace = path.join(H, 'trace');
    const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
    const cli = path.join(__dirname, '..', 'bin', 'sbx-native.js');
    execFileSync(
      'strace',
      [
        '-f',
        '-qq',
        '-e',
        'trace=rename,renameat,renameat2,link,linkat',
        '-o',
        trace,
        process.execPath,
        cli,
        'exec',
        '--tmp',
        'none',
        '-w',
        A,
        '-w',
        B,
        '--cwd',
        proj,
        '--env',
        `npm_config_cache=${cache}`,
        '--env',
        'npm_config_update_notifier=false',
        '--env',
        `HOME=${B}`,
        '--',
        npm,
        'install',
        '--no-audit',
        '--no-fund',
        '--offline',
        path.join(A, 'dep-1.0.0.tgz'),
      ],
      { stdio: 'pipe' },
    );
    const calls = fs.readFileSync(trace, 'utf8');
    expect(calls).toMatch(/rename/);
    expect(calls).not.toMatch(/EXDEV/);
    expect(fs.readFileSync(path.join(proj, 'node_modules', 'dep', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');
    const tmp = path.join(cache, '_cacache', 'tmp');
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);
  });

  it('pnpm: offline install from a warm store in another root hard-links the packages', async () => {
    const pnpm = path.join(__dirname, '..', 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
    const store = path.join(A, 'store');
    const env = { ...process.env, HOME: H, npm_config_update_notifier: 'false' };
    const manifest = JSON.stringify({ name: 'p', version: '1.0.0', dependencies: { express: '4.21.2' } });
    // Warm the store outside the sandbox (this step needs the npm registry).
    const warm = path.join(A, 'warm');
    fs.mkdirSync(warm);
    fs.writeFileSync(path.join(warm, 'package.json'), manifest);
    const w = spawnSync(process.execPath, [pnpm, 'install', '--store-dir', store, '--reporter', 'silent'], {
      cwd: warm,
      env,
      encoding: 'utf8',
    });
    if (w.status !== 0) return expect.fail(`warming the pnpm store needs the npm registry: ${w.stderr || w.stdout}`);
    const install = `${process.execPath} ${pnpm} install --offline --store-dir ${store} --reporter=append-only`;
    const proj = path.join(B, 'proj');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'package.json'), manifest);
    const r = await sh(install, { writableRoots: [A, B], tmp: 'none' }, { cwd: proj, env });
    expect(r.code, r.stderr).toBe(0);
    // pnpm 10's reporter no longer names the import method: the link counts tell.
    const links = nlinks(path.join(proj, 'node_modules', '.pnpm'));
    expect(links.length).toBeGreaterThan(100);
    expect(links.filter((n) => n >= 2).length / links.length).toBeGreaterThanOrEqual(0.99);
    if (!bwrapPath()) return console.warn('bubblewrap not installed: baseline skipped');
    const proj2 = path.join(B, 'proj2');
    fs.mkdirSync(proj2);
    fs.writeFileSync(path.join(proj2, 'package.json'), manifest);
    const base = bwrapSh(install, [A, B], proj2, env);
    expect(base.status, base.stderr).toBe(0);
    expect(nlinks(path.join(proj2, 'node_modules', '.pnpm')).filter((n) => n >= 2).length).toBe(0);
  }, 120000);

  it.skipIf(!isRoot || !cargoDir)(
    'cargo (rustup cargo, as root: rustup lives in /root): a crate with a path dependency builds twice; the binary is hard-linked, no incremental-cache warning',
    async () => {
      const ws = path.join(A, 'app');
      const dep = path.join(A, 'dep');
      fs.mkdirSync(path.join(ws, 'src'), { recursive: true });
      fs.mkdirSync(path.join(dep, 'src'), { recursive: true });
      fs.writeFileSync(path.join(dep, 'Cargo.toml'), '[package]\nname = "dep"\nversion = "0.1.0"\nedition = "2021"\n');
      fs.writeFileSync(path.join(dep, 'src', 'lib.rs'), 'pub fn n() -> u32 { 1 }\n');
      fs.writeFileSync(
        path.join(ws, 'Cargo.toml'),
        '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\ndep = { path = "../dep" }\n',
      );
      fs.writeFileSync(path.join(ws, 'src', 'main.rs'), 'fn main() { println!("{}", dep::n()); }\n');
      const env = {
        ...process.env,
        CARGO_HOME: path.join(B, 'cargo-home'),
        CARGO_TARGET_DIR: path.join(B, 'target'),
        CARGO_INCREMENTAL: '1',
        PATH: `${cargoDir}:${process.env.PATH}`,
      };
      const build = () => sh('cargo build --offline -q 2>&1', { writableRoots: [A, B], tmp: 'none' }, { cwd: ws, env });
      const first = await build();
      expect(first.code, first.stdout).toBe(0);
      fs.writeFileSync(path.join(ws, 'src', 'main.rs'), 'fn main() { println!("{}", dep::n() + 1); }\n');
      const second = await build();
      expect(second.code, second.stdout).toBe(0);
      expect(first.stdout + second.stdout).not.toMatch(/hard linking files in the incremental compilation cache failed/);
      expect(fs.statSync(path.join(B, 'target', 'debug', 'app')).nlink).toBe(2);
      expect(execFileSync(path.join(B, 'target', 'debug', 'app'), { encoding: 'utf8' })).toBe('2\n');
    },
  );
});
