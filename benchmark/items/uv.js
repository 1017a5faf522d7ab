'use strict';
// uv (the real one, from PyPI) installing ~50 local wheels from a warm cache,
// cache and project in separate writable roots: unsandboxed vs sbx vs bwrap
// (one bind per root). Time and disk growth (du of cache + project together,
// so hard links count once), like the pnpm item. uv is installed with pip into
// the work directory (never a dependency); the wheels are generated here, so
// nothing but that install needs the network.
const fs = require('fs');
const path = require('path');
const { interleave, ratios } = require('../lib/interleave');
const { bwrapArgs } = require('../lib/bwrap');
const { target } = require('../lib/target');
const { sh, timeCp, timeSbx } = require('../lib/proc');

const UV_VERSION = '0.13.9';
const PYTHON = '/usr/bin/python3';
const FULL = { wheels: 50, modules: 40 };
const QUICK = { wheels: 5, modules: 10 };

// Writes `count` pure-Python wheels (bench_pkg_NN 1.0.0), each with `modules`
// modules of ~4 KB: deterministic content, valid RECORD.
const MAKE_WHEELS = `
import base64, hashlib, sys, zipfile
out, count, modules = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def digest(b):
    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()
for i in range(count):
    name = f'bench_pkg_{i:02d}'
    dist = f'{name}-1.0.0.dist-info'
    files = {f'{name}/__init__.py': f'VERSION = "1.0.0"\\n'.encode()}
    for m in range(modules):
        body = ''.join(f'def f_{m}_{k}(x):\\n    return x * {k} + {i}  # {name} module {m}\\n\\n' for k in range(60))
        files[f'{name}/mod_{m:02d}.py'] = body.encode()
    files[f'{dist}/METADATA'] = f'Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0.0\\n'.encode()
    files[f'{dist}/WHEEL'] = b'Wheel-Version: 1.0\\nGenerator: sbx-bench\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'
    record = ''.join(f'{p},{digest(c)},{len(c)}\\n' for p, c in files.items()) + f'{dist}/RECORD,,\\n'
    with zipfile.ZipFile(f'{out}/{name}-1.0.0-py3-none-any.whl', 'w', zipfile.ZIP_DEFLATED) as z:
        for p, c in files.items():
            z.writestr(p, c)
        z.writestr(f'{dist}/RECORD', record)
`;

function duKb(paths) {
  return Number(
    sh('du', ['-skc', ...paths])
      .trim()
      .split('\n')
      .pop()
      .split(/\s/)[0],
  );
}

function rd(x) {
  return Math.round(x * 100) / 100;
}

/** Share of the installed package files (not dist-info) whose link count is > 1. */
function linkedShare(venv) {
  const lib = path.join(venv, 'lib');
  const site = path.join(
    lib,
    fs.readdirSync(lib).find((n) => n.startsWith('python')),
    'site-packages',
  );
  let files = 0,
    linked = 0;
  for (const pkg of fs.readdirSync(site).filter((n) => n.startsWith('bench_pkg_') && !n.endsWith('.dist-info'))) {
    for (const f of fs.readdirSync(path.join(site, pkg))) {
      files++;
      if (fs.statSync(path.join(site, pkg, f)).nlink > 1) linked++;
    }
  }
  return files ? rd(linked / files) : null;
}

module.exports = async function uv(ctx) {
  const size = ctx.quick ? QUICK : FULL;
  const base = ctx.dir('uv');
  const tool = path.join(base, `uv-${UV_VERSION}`);
  if (!fs.existsSync(path.join(tool, 'bin', 'uv'))) {
    ctx.log(`installing uv ${UV_VERSION} from PyPI into ${tool}`);
    sh(
      PYTHON,
      ['-m', 'pip', 'install', '--quiet', '--no-deps', '--only-binary=:all:', '--no-cache-dir', '--target', tool, `uv==${UV_VERSION}`],
      { env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_FIND_LINKS: '' } },
    );
  }
  const uvBin = path.join(tool, 'bin', 'uv');
  const wheels = ctx.dir(`uv/wheels-${size.wheels}x${size.modules}`);
  if (fs.readdirSync(wheels).filter((n) => n.endsWith('.whl')).length !== size.wheels)
    sh(PYTHON, ['-c', MAKE_WHEELS, wheels, String(size.wheels), String(size.modules)]);
  const names = fs
    .readdirSync(wheels)
    .filter((n) => n.endsWith('.whl'))
    .map((n) => n.split('-')[0]);
  const cache = ctx.dir(`uv/cache-${size.wheels}x${size.modules}`);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('UV_') || k === 'VIRTUAL_ENV') delete env[k]; // no UV_LINK_MODE=copy from the caller
  Object.assign(env, { UV_CACHE_DIR: cache, UV_NO_CONFIG: '1', UV_PYTHON_DOWNLOADS: 'never', PIP_FIND_LINKS: '' });
  const args = ['pip', 'install', '--offline', '--no-index', '--find-links', wheels, ...names];
  // Warm the cache (not timed): unpack every wheel into archive-v0/ once.
  const warm = path.join(base, 'warm-venv');
  fs.rmSync(warm, { recursive: true, force: true });
  sh(uvBin, ['venv', '-q', '--python', PYTHON, warm], { env });
  sh(uvBin, [...args, '-q'], { env: { ...env, VIRTUAL_ENV: warm } });
  fs.rmSync(warm, { recursive: true, force: true });

  const fresh = (name) => {
    const p = path.join(base, 'projects', name);
    fs.rmSync(p, { recursive: true, force: true });
    fs.mkdirSync(p, { recursive: true });
    sh(uvBin, ['venv', '-q', '--python', PYTHON, path.join(p, '.venv')], { env });
    return p;
  };
  const measure = async (name, run) => {
    const p = fresh(name);
    const before = duKb([cache, p]);
    const ms = await run(p, { ...env, VIRTUAL_ENV: path.join(p, '.venv') });
    const growth = duKb([cache, p]) - before;
    return { value: ms, diskGrowthMb: Math.round(growth / 10.24) / 100, linkedShare: linkedShare(path.join(p, '.venv')) };
  };
  const variants = {
    unsandboxed: () => measure('unsandboxed', (p, e) => timeCp(uvBin, args, { cwd: p, env: e })),
    sbx: () => measure('sbx', (p, e) => timeSbx(uvBin, args, { writableRoots: [cache, p] }, { cwd: p, env: e })),
  };
  if (ctx.bwrap.path)
    variants['bwrap (bind per root)'] = () =>
      measure('bwrap', (p, e) => timeCp(ctx.bwrap.path, bwrapArgs({ roots: [cache, p], cwd: p }, [uvBin, ...args]), { env: e }));
  const samples = ctx.quick ? 1 : 10;
  ctx.log(`uv pip install of ${names.length} local wheels (${size.modules} modules each), warm cache: ${samples} rounds`);
  const r = await interleave({ variants, warmup: 1, samples, log: ctx.log });
  for (const v of Object.values(r.variants)) {
    const g = v.extra.map((e) => e.diskGrowthMb).sort((a, b) => a - b);
    v.diskGrowthMb = g[Math.floor(g.length / 2)];
    v.hardLinkedShare = v.extra.at(-1).linkedShare;
    delete v.extra;
  }
  fs.rmSync(path.join(base, 'projects'), { recursive: true, force: true });
  r.ratios = ratios(r, [
    ['sbx', 'unsandboxed'],
    ['bwrap (bind per root)', 'sbx'],
  ]);
  const V = r.variants;
  r.diskRatios = { 'sbx/unsandboxed': rd(V.sbx.diskGrowthMb / V.unsandboxed.diskGrowthMb) };
  if (V['bwrap (bind per root)'])
    r.diskRatios['bwrap/unsandboxed'] = rd(V['bwrap (bind per root)'].diskGrowthMb / V.unsandboxed.diskGrowthMb);
  r.wheels = names.length;
  r.modulesPerWheel = size.modules;
  r.uv = sh(uvBin, ['--version']).trim();
  r.command = `uv ${args.slice(0, 6).join(' ')} <${names.length} packages>`;
  ctx.log(
    `  medians: ${Object.entries(V)
      .map(([k, v]) => `${k} ${v.median} ms / +${v.diskGrowthMb} MB / ${v.hardLinkedShare} linked`)
      .join(', ')}; ratios ${JSON.stringify(r.ratios)} disk ${JSON.stringify(r.diskRatios)}`,
  );
  const tg = [
    target('uv: sbx within 10% of unsandboxed', r.ratios['sbx/unsandboxed'], (x) => x <= 1.1),
    target('uv: sbx disk growth <= 2x unsandboxed', r.diskRatios['sbx/unsandboxed'], (x) => x <= 2),
  ];
  return { title: `uv pip install, ${names.length} local wheels, warm cache`, unit: 'ms', cases: { uv: r }, targets: tg };
};
