#!/usr/bin/env node
// Checks that the native binaries run on old distributions: reads each ELF
// file's dynamic symbol table with `objdump -T` and fails when a symbol needs
// a newer glibc than the floor (2.28: RHEL/Rocky 8, Debian 10, Ubuntu 18.10),
// or a newer libstdc++ than GCC 8's (GLIBCXX_3.4.25, CXXABI_1.3.11: the same
// distributions' system libstdc++), or a shared library beyond the C/C++
// runtime. Statically linked files (the helper) need none and pass.
//
//   node scripts/check-glibc.js [--max-glibc 2.28] [--require x64,arm64] [FILE|DIR]...
//
// Without FILE/DIR it checks every prebuilds/<platform>-<arch>/ directory
// (the addon *.node and the sbx-helper beside it). --require fails unless a
// prebuild (addon + helper) exists for each listed arch (a publish gate).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const ALLOWED_LIBS =
  /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux[-\w.]*\.so\.\d)$/;
const ELF_MACHINES = { 62: 'x64', 183: 'arm64', 40: 'arm', 3: 'ia32', 243: 'riscv64', 21: 'ppc64', 22: 's390x' };

function parseArgs(argv) {
  const opts = { max: { GLIBC: '2.28', GLIBCXX: '3.4.25', CXXABI: '1.3.11' }, require: [], paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--max-glibc') opts.max.GLIBC = argv[++i];
    else if (a === '--max-glibcxx') opts.max.GLIBCXX = argv[++i];
    else if (a === '--require') opts.require.push(...argv[++i].split(',').filter(Boolean));
    else if (a === '-h' || a === '--help') {
      console.log('usage: check-glibc.js [--max-glibc 2.28] [--max-glibcxx 3.4.25] [--require x64,arm64] [FILE|DIR]...');
      process.exit(0);
    } else opts.paths.push(a);
  }
  return opts;
}

function cmpVersion(a, b) {
  const x = a.split('.').map(Number),
    y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d) return d;
  }
  return 0;
}

/** e_machine of an ELF file as a Node arch name, or undefined when not ELF. */
function elfArch(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const h = Buffer.alloc(20);
    if (fs.readSync(fd, h, 0, 20, 0) < 20 || h.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const m = h[5] === 2 ? h.readUInt16BE(18) : h.readUInt16LE(18);
    return ELF_MACHINES[m] || `e_machine=${m}`;
  } finally {
    fs.closeSync(fd);
  }
}

/** The objdump that reads this arch: the host's for the host arch, else the cross one, else multiarch. */
function objdumpFor(arch) {
  const cands = arch === process.arch ? ['objdump'] : [];
  if (arch === 'arm64') cands.push('aarch64-linux-gnu-objdump');
  if (arch === 'x64') cands.push('x86_64-linux-gnu-objdump');
  cands.push('objdump', 'gdb-multiarch-objdump');
  for (const c of cands) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  return undefined;
}

function objdump(bin, flag, file) {
  const r = spawnSync(bin, [flag, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ok: r.status === 0, out: r.stdout || '', err: (r.stderr || '').trim() };
}

function checkFile(file, max) {
  const arch = elfArch(file);
  const rel = path.relative(root, file);
  const res = { file: rel.startsWith('..') ? file : rel, arch, problems: [], versions: {}, needed: [] };
  if (!arch) {
    res.problems.push('not an ELF file');
    return res;
  }
  const bin = objdumpFor(arch);
  if (!bin) {
    res.problems.push(`no objdump can read ${arch} files (install binutils, or binutils-aarch64-linux-gnu for arm64)`);
    return res;
  }
  const p = objdump(bin, '-p', file);
  if (!p.ok) {
    res.problems.push(`${bin} -p failed: ${p.err}`);
    return res;
  }
  res.needed = [...p.out.matchAll(/^\s*NEEDED\s+(\S+)/gm)].map((m) => m[1]);
  res.static = res.needed.length === 0;
  for (const lib of res.needed)
    if (!ALLOWED_LIBS.test(lib)) res.problems.push(`needs ${lib} (not part of the C/C++ runtime every distribution has)`);
  if (res.static) return res; // no dynamic symbols to version
  const t = objdump(bin, '-T', file);
  if (!t.ok) {
    res.problems.push(`${bin} -T failed: ${t.err}`);
    return res;
  }
  for (const line of t.out.split('\n')) {
    const m = /\((GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)\s+(\S+)\s*$/.exec(line) || /\s(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\s+(\S+)\s*$/.exec(line);
    if (!m || !/\*UND\*/.test(line)) continue;
    const [, kind, ver, sym] = m;
    if (!res.versions[kind] || cmpVersion(ver, res.versions[kind]) > 0) res.versions[kind] = ver;
    if (cmpVersion(ver, max[kind]) > 0) res.problems.push(`${sym} needs ${kind}_${ver} (> ${max[kind]})`);
  }
  return res;
}

function filesIn(dir) {
  return fs
    .readdirSync(dir)
    .map((n) => path.join(dir, n))
    .filter((f) => fs.statSync(f).isFile() && (f.endsWith('.node') || path.basename(f) === 'sbx-helper'));
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let failed = false;
  const prebuilds = path.join(root, 'prebuilds');
  let targets = opts.paths;
  if (!targets.length) {
    targets = fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds).map((d) => path.join(prebuilds, d)) : [];
    if (!targets.length) {
      console.error(`check-glibc: no prebuilds in ${prebuilds} (run \`npm run build:prebuilds\` first)`);
      process.exit(1);
    }
  }
  for (const arch of opts.require) {
    const dir = path.join(prebuilds, `linux-${arch}`);
    const ok = fs.existsSync(dir) && fs.readdirSync(dir).some((n) => n.endsWith('.node')) && fs.existsSync(path.join(dir, 'sbx-helper'));
    if (!ok) {
      console.error(`check-glibc: missing prebuild for linux-${arch} (addon and sbx-helper in ${dir})`);
      failed = true;
    }
  }
  const files = targets.flatMap((t) => (fs.statSync(t).isDirectory() ? filesIn(t) : [t]));
  for (const f of files) {
    const r = checkFile(f, opts.max);
    const vs = r.static
      ? 'static: needs no shared library'
      : ['GLIBC', 'GLIBCXX', 'CXXABI']
          .filter((k) => r.versions[k])
          .map((k) => `${k}_${r.versions[k]}`)
          .join(' ');
    const size = `${(fs.statSync(f).size / 1024).toFixed(0)} KiB`;
    console.log(`${r.problems.length ? 'FAIL' : 'ok  '} ${r.file} [${r.arch || '?'}, ${size}] ${vs}`);
    for (const p of r.problems) console.log(`       ${p}`);
    if (r.problems.length) failed = true;
  }
  if (!files.length) {
    console.error('check-glibc: no binaries to check');
    failed = true;
  }
  console.log(
    failed
      ? `check-glibc: FAILED (floor: GLIBC_${opts.max.GLIBC}, GLIBCXX_${opts.max.GLIBCXX}, CXXABI_${opts.max.CXXABI})`
      : `check-glibc: ok, every binary runs with glibc >= ${opts.max.GLIBC} (and GCC 8's libstdc++)`,
  );
  process.exit(failed ? 1 : 0);
}

if (require.main === module) main();
module.exports = { checkFile, elfArch };
