#!/usr/bin/env node
// npm run build:prebuilds: stripped Node-API prebuilds for linux-x64 and
// linux-arm64 with prebuildify (--napi --strip --tag-libc), each with the
// sbx-helper executable beside the addon, checked against the glibc floor
// (scripts/check-glibc.js):
//
//   prebuilds/linux-x64/sbx-native.glibc.node   prebuilds/linux-x64/sbx-helper
//   prebuilds/linux-arm64/sbx-native.glibc.node prebuilds/linux-arm64/sbx-helper
//
//   node scripts/build-prebuilds.js [--arch x64,arm64] [--no-check]
//
// Each arch builds in a scratch copy of the sources, so build/ (the
// development build that tests and node-gyp-build prefer) is never touched,
// and its result replaces prebuilds/linux-<arch>/ only once it passed.
// Cross builds use Debian's cross compilers (g++-aarch64-linux-gnu).
// musl is not built: Debian's musl-tools has no C++ runtime (lib/native.ts
// reports musl precisely instead).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { elfArch } = require('./check-glibc.js');

const root = path.join(__dirname, '..');
const TOOLCHAINS = {
  x64: { triple: 'x86_64-linux-gnu', apt: 'g++-x86-64-linux-gnu' },
  arm64: { triple: 'aarch64-linux-gnu', apt: 'g++-aarch64-linux-gnu' },
};

function parseArgs(argv) {
  const opts = { arches: ['x64', 'arm64'], check: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--arch') opts.arches = argv[++i].split(',').filter(Boolean);
    else if (a.startsWith('--arch=')) opts.arches = a.slice(7).split(',').filter(Boolean);
    else if (a === '--no-check') opts.check = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: build-prebuilds.js [--arch x64,arm64] [--no-check]');
      process.exit(0);
    } else fail(`unknown argument ${a}`);
  }
  for (const a of opts.arches) if (!TOOLCHAINS[a]) fail(`unsupported arch ${a} (supported: ${Object.keys(TOOLCHAINS).join(', ')})`);
  return opts;
}

function fail(msg) {
  console.error(`build-prebuilds: ${msg}`);
  process.exit(1);
}

function has(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Compiler, linker and strip for one arch, or a sentence saying what to install. */
function toolchain(arch) {
  const { triple, apt } = TOOLCHAINS[arch];
  if (arch === process.arch) {
    if (!has('g++') || !has('make')) return { missing: 'g++ and make are needed (apt-get install -y g++ make python3)' };
    return { env: {}, strip: 'strip' };
  }
  const cxx = `${triple}-g++`;
  if (!has(cxx)) {
    return {
      missing:
        `the ${arch} cross compiler ${cxx} is not installed. On Debian/Ubuntu: ` +
        `\`apt-get update && apt-get install -y ${apt}\`; or build only this machine's arch: ` +
        `\`npm run build:prebuilds -- --arch ${process.arch}\``,
    };
  }
  return {
    env: { CC: `${triple}-gcc`, CXX: cxx, LINK: cxx, AR: `${triple}-ar`, STRIP: `${triple}-strip` },
    strip: `${triple}-strip`,
  };
}

/** Node's headers: node-gyp would otherwise download them (see scripts/build-native.js). */
function nodeDir() {
  for (const dir of [process.env.npm_config_nodedir, '/usr', path.join(path.dirname(process.execPath), '..')]) {
    if (dir && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${path.basename(cmd)} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

function buildArch(arch, tc, opts) {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), `sbx-prebuild-${arch}-`));
  try {
    for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(stage, f));
    fs.cpSync(path.join(root, 'native'), path.join(stage, 'native'), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'));

    const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
    const nodeGyp = path.join(root, 'node_modules', '.bin', 'node-gyp');
    const args = [
      prebuildify,
      '--napi',
      '--strip',
      '--tag-libc',
      '--arch',
      arch,
      '--strip-bin',
      tc.strip,
      '--target',
      `node@${process.versions.node}`,
      '--node-gyp',
      nodeGyp,
      '--out',
      stage,
    ];
    const dir = nodeDir();
    // prebuildify passes no extra flags to node-gyp; node-gyp reads npm_config_* from the environment.
    const env = { ...process.env, ...tc.env, ...(dir ? { npm_config_nodedir: dir } : {}) };
    console.log(`\n=== linux-${arch}: prebuildify ${args.slice(1).join(' ')}${dir ? ` (nodedir ${dir})` : ''}`);
    run(process.execPath, args, { cwd: stage, env });

    const out = path.join(stage, 'prebuilds', `linux-${arch}`);
    const helper = path.join(out, 'sbx-helper');
    fs.copyFileSync(path.join(stage, 'build', 'Release', 'sbx-helper'), helper);
    run(tc.strip, ['--strip-all', helper]);
    fs.chmodSync(helper, 0o755);
    for (const f of fs.readdirSync(out)) {
      const got = elfArch(path.join(out, f));
      if (got !== arch) fail(`${f} was built for ${got}, not ${arch} (is ${tc.env.CXX || 'g++'} the right compiler?)`);
    }
    if (opts.check) run(process.execPath, [path.join(__dirname, 'check-glibc.js'), out]);
    if (arch === process.arch) {
      // Smoke test on this machine: the stripped addon loads and answers.
      const addon = fs.readdirSync(out).find((f) => f.endsWith('.node'));
      run(process.execPath, [
        '-e',
        `const b = require(${JSON.stringify(path.join(out, addon))}); if (typeof b.landlockAbi().abi !== 'number') process.exit(1)`,
      ]);
    }

    // Install: copy next to the destination, then swap in with renames.
    const dest = path.join(root, 'prebuilds', `linux-${arch}`);
    const tmp = `${dest}.tmp-${process.pid}`;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.cpSync(out, tmp, { recursive: true, preserveTimestamps: true });
    fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(tmp, dest);
    return fs
      .readdirSync(dest)
      .map((f) => ({ file: path.join('prebuilds', `linux-${arch}`, f), size: fs.statSync(path.join(dest, f)).size }));
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (process.platform !== 'linux') fail('prebuilds are built on Linux only');
  const tcs = opts.arches.map((a) => [a, toolchain(a)]);
  const missing = tcs.filter(([, tc]) => tc.missing);
  if (missing.length) {
    for (const [a, tc] of missing) console.error(`build-prebuilds: cannot build linux-${a}: ${tc.missing}`);
    process.exit(1);
  }
  const built = [];
  for (const [arch, tc] of tcs) built.push(...buildArch(arch, tc, opts));
  console.log('\nbuild-prebuilds: done');
  for (const b of built) console.log(`  ${b.file}  ${(b.size / 1024).toFixed(0)} KiB`);
}

main();
