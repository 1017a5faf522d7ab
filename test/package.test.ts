// The published package: `npm pack`, install the tarball into an empty project
// with install scripts blocked and no compiler on PATH, then require, import
// and `npx sbx-native exec` must work from the prebuilds alone; and when the
// native part cannot load, the error says why and what to do.
import { spawnSync, SpawnSyncReturns } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';
import { ensurePrebuild, prebuildDir, prebuildState } from './prebuilds';

const LONG = 300_000; // building the prebuilds (~30 s) and installing from the registry
const arch = process.arch;

interface Setup {
  skip?: string;
  work: string;
  project: string;
  pkg: string; // node_modules/sbx-native in the project
  env: NodeJS.ProcessEnv;
}
const setup: Setup = { work: '', project: '', pkg: '', env: {} };

/** Where npm's own CLI scripts live, so the stripped PATH can offer npm and npx. */
function npmCli(): { npm: string; npx: string } | undefined {
  const candidates = [path.join(path.dirname(process.execPath), 'npm'), '/usr/bin/npm', '/usr/local/bin/npm'];
  for (const c of candidates) {
    try {
      const real = fs.realpathSync(c);
      const npx = path.join(path.dirname(real), 'npx-cli.js');
      if (fs.existsSync(npx)) return { npm: real, npx };
    } catch {
      /* next */
    }
  }
  return undefined;
}

function run(cmd: string, args: string[], cwd: string, env = setup.env, timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
}

function explain(r: SpawnSyncReturns<string>): string {
  return `exit ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

function prepare(): void {
  if (process.platform !== 'linux') return void (setup.skip = 'sbx-native is Linux-only');
  if (!['x64', 'arm64'].includes(arch)) return void (setup.skip = `no prebuilds for linux-${arch}`);
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'index.js'))) {
    return void (setup.skip = 'dist/ is not built: run `npx tsc -p .` first');
  }
  const npm = npmCli();
  if (!npm) return void (setup.skip = `npm's CLI was not found beside ${process.execPath} or in /usr/bin`);

  // 1. Prebuilds for this machine, current with native/ and binding.gyp.
  const why = ensurePrebuild();
  if (why) return void (setup.skip = why);

  // 2. A PATH with node, npm, npx and a shell only: no g++, cc, make or python.
  setup.work = tempDir('sbx-pkg-');
  const bin = path.join(setup.work, 'bin');
  fs.mkdirSync(bin, { mode: 0o755 });
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(npm.npm, path.join(bin, 'npm'));
  fs.symlinkSync(npm.npx, path.join(bin, 'npx'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  fs.symlinkSync('/bin/true', path.join(bin, 'true'));
  const cache = path.join(setup.work, 'npm-cache'); // nobody has no writable home for ~/.npm
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !/^(PREBUILDS_ONLY|LIBC)$/.test(k)) env[k] = v;
  Object.assign(env, {
    PATH: bin,
    npm_config_cache: cache,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  });
  setup.env = env;

  // 3. npm pack (scripts off: `prepare` would recompile dist/ under other tests' feet).
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', setup.work], repoRoot);
  if (pack.status !== 0) throw new Error(`npm pack failed: ${explain(pack)}`);
  const tarball = path.join(setup.work, JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0].filename);

  // 4. An empty project; install the tarball with install scripts blocked.
  setup.project = path.join(setup.work, 'project');
  fs.mkdirSync(setup.project, { mode: 0o755 });
  fs.writeFileSync(path.join(setup.project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const inst = run(
    'npm',
    ['install', tarball, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
    setup.project,
    env,
    180_000,
  );
  if (inst.status !== 0) {
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|network/i.test(inst.stderr)) {
      return void (setup.skip = `npm install cannot reach the registry for the dependencies: ${inst.stderr.split('\n').find((l) => /ERR/.test(l)) ?? ''}`);
    }
    throw new Error(`npm install of the tarball failed: ${explain(inst)}`);
  }
  setup.pkg = path.join(setup.project, 'node_modules', 'sbx-native');
}

describe(`the packed package, installed without a compiler (as ${userLabel})`, () => {
  beforeAll(() => {
    prepare();
    if (setup.skip) console.warn(`package.test.ts skipped: ${setup.skip}`);
  }, LONG);
  afterAll(() => {
    if (setup.work) rmTree(setup.work);
  }, LONG);

  it(
    'has no compiler on PATH, compiled nothing, ships the helper executable beside the addon',
    (ctx) => {
      if (setup.skip) ctx.skip(setup.skip);
      for (const tool of ['g++', 'gcc', 'cc', 'c++', 'make', 'python3', 'python']) {
        expect(run('sh', ['-c', `command -v ${tool}`], setup.project).status, tool).not.toBe(0);
      }
      expect(fs.existsSync(path.join(setup.pkg, 'build'))).toBe(false);
      const dir = path.join(setup.pkg, 'prebuilds', `linux-${arch}`);
      expect(fs.readdirSync(dir).sort()).toEqual(['sbx-helper', 'sbx-native.glibc.node']);
      expect(fs.statSync(path.join(dir, 'sbx-helper')).mode & 0o111).toBe(0o111);
      expect(fs.existsSync(path.join(setup.pkg, 'dist', 'index.d.ts'))).toBe(true);
      expect(fs.existsSync(path.join(setup.pkg, 'test'))).toBe(false);
    },
    LONG,
  );

  it(
    'require() loads the prebuild and runs a sandboxed command',
    (ctx) => {
      if (setup.skip) ctx.skip(setup.skip);
      const src = `
      const sbx = require('sbx-native');
      sbx.run('true', [], { sandbox: { writableRoots: [process.cwd()] } }).then((r) => {
        const addon = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
        console.log(JSON.stringify({ code: r.code, addon, abi: sbx.landlockAbi().abi, exports: Object.keys(sbx).sort() }));
      }, (e) => { console.error(e.stack); process.exit(1); });`;
      const r = run('node', ['-e', src], setup.project);
      expect(r.status, explain(r)).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.code).toBe(0);
      expect(out.addon).toEqual([path.join(fs.realpathSync(setup.pkg), 'prebuilds', `linux-${arch}`, 'sbx-native.glibc.node')]);
      expect(out.abi).toBeGreaterThanOrEqual(2);
      expect(out.exports).toEqual(expect.arrayContaining(['spawn', 'run', 'landlockAbi', 'renameNoReplace', 'PolicyError']));
    },
    LONG,
  );

  it(
    'import works with named exports',
    (ctx) => {
      if (setup.skip) ctx.skip(setup.skip);
      const src = `
      import { run, spawn, landlockAbi } from 'sbx-native';
      import sbx from 'sbx-native';
      const r = await run('true', [], { sandbox: { writableRoots: [process.cwd()] } });
      console.log(JSON.stringify({ code: r.code, spawn: typeof spawn, same: sbx.run === run, abi: landlockAbi().abi }));`;
      const r = run('node', ['--input-type=module', '-e', src], setup.project);
      expect(r.status, explain(r)).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ code: 0, spawn: 'function', same: true, abi: expect.any(Number) });
    },
    LONG,
  );

  it(
    'the types resolve for import and require (TypeScript, module node16)',
    (ctx) => {
      if (setup.skip) ctx.skip(setup.skip);
      fs.writeFileSync(
        path.join(setup.project, 'esm.mts'),
        "import { run, type SandboxPolicy } from 'sbx-native';\nconst p: SandboxPolicy = { writableRoots: ['.'] };\nvoid run('true', [], { sandbox: p });\n",
      );
      fs.writeFileSync(
        path.join(setup.project, 'cjs.cts'),
        "import sbx = require('sbx-native');\nvoid sbx.spawn('true', [], { sandbox: { network: false } });\n",
      );
      const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = run(
        'node',
        [
          tsc,
          '--noEmit',
          '--strict',
          '--module',
          'node16',
          '--moduleResolution',
          'node16',
          '--types',
          'node',
          '--typeRoots',
          path.join(repoRoot, 'node_modules', '@types'),
          'esm.mts',
          'cjs.cts',
        ],
        setup.project,
      );
      expect(r.status, explain(r)).toBe(0);
    },
    LONG,
  );

  it(
    'npx sbx-native exec -- true works',
    (ctx) => {
      if (setup.skip) ctx.skip(setup.skip);
      const r = run('npx', ['sbx-native', 'exec', '--', 'true'], setup.project);
      expect(r.status, explain(r)).toBe(0);
      const fail = run('npx', ['sbx-native', 'exec', '--', 'sh', '-c', 'exit 3'], setup.project);
      expect(fail.status, explain(fail)).toBe(3);
    },
    LONG,
  );

  it(
    'explains a helper without execute permission',
    (ctx) => {
      if (setup.skip) ctx.skip(setup.skip);
      const helper = path.join(setup.pkg, 'prebuilds', `linux-${arch}`, 'sbx-helper');
      fs.chmodSync(helper, 0o644);
      try {
        const r = run('node', ['-e', "require('sbx-native').landlockAbi()"], setup.project);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain('sbx-native could not load its native part: the helper');
        expect(r.stderr).toMatch(/no execute permission \(mode 644\)/);
        expect(r.stderr).toMatch(/fix: `chmod 755 .*sbx-helper`/);
        const cli = run('npx', ['sbx-native', 'exec', '--', 'true'], setup.project);
        expect(cli.status).not.toBe(0);
        expect(cli.stderr).toMatch(/could not load its native part/);
      } finally {
        fs.chmodSync(helper, 0o755);
      }
    },
    LONG,
  );

  it(
    'explains a noexec mount (a tmpfs mounted noexec in a private user+mount namespace)',
    (ctx) => {
      if (setup.skip) ctx.skip(setup.skip);
      const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((f) => fs.existsSync(f));
      if (!unshare) ctx.skip('no unshare(1)');
      const mnt = path.join(setup.work, 'noexec');
      fs.mkdirSync(mnt, { mode: 0o755 });
      const script =
        `/bin/mount -t tmpfs -o noexec tmpfs ${mnt} && /bin/cp -a ${setup.project} ${mnt}/p && cd ${mnt}/p && ` +
        'node -e "require(\'sbx-native\').landlockAbi()"';
      const r = run(unshare!, ['-rm', '/bin/sh', '-c', script], setup.project);
      if (/unshare failed|Operation not permitted/.test(r.stderr) && !/sbx-native/.test(r.stderr))
        ctx.skip(`no user namespace for the test: ${r.stderr.trim()}`);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`cannot be executed or mapped: ${mnt} is mounted noexec`));
      expect(r.stderr).toMatch(/fix: install node_modules on a filesystem mounted without noexec/);
    },
    LONG,
  );

  it(
    'explains a missing prebuild with the build-from-source command',
    (ctx) => {
      if (setup.skip) ctx.skip(setup.skip);
      const pre = path.join(setup.pkg, 'prebuilds');
      fs.renameSync(pre, `${pre}.away`);
      try {
        const r = run('node', ['-e', "require('sbx-native').landlockAbi()"], setup.project);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain(`sbx-native could not load its native part: no prebuilt binary for linux-${arch}`);
        expect(r.stderr).toContain(`found: platform=linux arch=${arch} libc=glibc`);
        expect(r.stderr).toContain('fix: ');
        expect(r.stderr).toContain('npm rebuild sbx-native --build-from-source');
      } finally {
        fs.renameSync(`${pre}.away`, pre);
      }
    },
    LONG,
  );

  it('explains another OS, an unsupported arch, musl and an old glibc (simulated with a preload)', (ctx) => {
    if (setup.skip) ctx.skip(setup.skip);
    const preload = path.join(setup.work, 'fake.js');
    fs.writeFileSync(
      preload,
      `
      const fs = require('fs'), Module = require('module');
      const fake = process.env.FAKE;
      if (fake === 'darwin') Object.defineProperty(process, 'platform', { value: 'darwin' });
      if (fake === 'riscv64') Object.defineProperty(process, 'arch', { value: 'riscv64' });
      if (fake === 'musl') {
        const read = fs.readFileSync;
        fs.readFileSync = function (f, ...rest) {
          return f === '/proc/self/maps' ? '7f0000000000-7f0000001000 r-xp 00000000 08:01 1 /lib/ld-musl-x86_64.so.1\\n' : read.call(this, f, ...rest);
        };
      }
      if (fake === 'glibc') {
        process.report.getReport = () => ({ header: { glibcVersionRuntime: '2.17' } });
        Module._extensions['.node'] = () => { throw new Error("/lib64/libc.so.6: version \`GLIBC_2.28' not found"); };
      }`,
    );
    const load = (fake: string) =>
      run('node', ['-r', preload, '-e', "require('sbx-native').landlockAbi()"], setup.project, { ...setup.env, FAKE: fake });
    const cases: [string, RegExp[]][] = [
      ['darwin', [/darwin is not supported: sbx-native is Linux-only/, /fix: on macOS use .*; on Windows run Node inside WSL2/]],
      [
        'riscv64',
        [
          /no prebuilt binary for linux-riscv64: prebuilds exist for linux-x64 and linux-arm64 only/,
          /arch=riscv64/,
          /npm rebuild sbx-native --build-from-source/,
        ],
      ],
      ['musl', [/musl libc \(Alpine Linux and the like\) is not supported by the prebuilt binaries/, /libc=musl/, /node:20-bookworm-slim/]],
      [
        'glibc',
        [/glibc 2\.17 is too old: the prebuilt binaries need glibc >= 2\.28/, /loader: .*GLIBC_2\.28' not found/, /libc=glibc 2\.17/],
      ],
    ];
    for (const [fake, patterns] of cases) {
      const r = load(fake);
      expect(r.status, fake).not.toBe(0);
      for (const p of patterns) expect(r.stderr, fake).toMatch(p);
    }
  });
});

// The checks that need no package: the glibc floor of what would ship.
describe('scripts/check-glibc.js', () => {
  it('passes the prebuilds for this machine and rejects a binary that needs a newer glibc', (ctx) => {
    if (prebuildState() === 'missing') ctx.skip(`no linux-${arch} prebuild (npm run build:prebuilds)`);
    const check = path.join(repoRoot, 'scripts', 'check-glibc.js');
    const ok = spawnSync(process.execPath, [check, prebuildDir], { encoding: 'utf8' });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/sbx-helper .*static: needs no shared library/);
    // Anything linked against this machine's glibc 2.34+ for real needs __libc_start_main@GLIBC_2.34.
    const probe = ['/usr/bin/env', '/bin/ls'].find((f) => fs.existsSync(f))!;
    const bad = spawnSync(process.execPath, [check, probe], { encoding: 'utf8' });
    const glibc =
      (process.report?.getReport() as unknown as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime ?? '0';
    if (Number(glibc.split('.')[1]) >= 34) {
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/FAIL .*\n.*needs GLIBC_2\.3\d \(> 2\.28\)/);
    }
  });
});
