'use strict';
// Entry point: `npm run bench [-- OPTIONS]`.
//   --quick          harness smoke test (< 2 min; numbers not meaningful)
//   --only=a,b       only these items (names of benchmark/items/*.js)
//   --out DIR        where the run's JSON, its report (benchmarks.md) and charts go
//                    (default: $TMPDIR/sbx-native-bench; nothing is written into the
//                    checkout unless asked with --docs)
//   --docs           a full run also becomes the checked-in results: copied to
//                    benchmark/results/benchmarks.json, docs/benchmarks.md and
//                    benchmark/charts/ regenerated from it
//   --into=FILE      run the --only items and merge them into an existing results
//                    file (recording the extra command); with --docs, regenerate the docs
//   --no-report      JSON only
//   --peer=CHECKOUT  the items that know it (syscalls, pnpm, policy-size, pool, proxy, bwrap-frontend, cli) also run another built
//                    checkout's sbx (its dist/ and helper), interleaved, as "sbx (peer)"
//   --rounds=N       measured rounds for those items and policy-size (noisy machines need more)
//   --no-bwrap       leave out the bwrap variants (1000 binds take 20-30 s each on a loaded VM)
//   --baseline=DIR   item `builds` compares this build with the one in DIR
// Every file in benchmark/items/ is an item (ORDER first, any other after it,
// so a new item is one new file); each records the load while it ran
// (benchmark/lib/load.js). The workloads themselves run under /var/tmp.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ensureBwrap } = require('./lib/bwrap');
const { sh, ROOT } = require('./lib/proc');
const load = require('./lib/load');

const ORDER = [
  'spawn-latency',
  'spawn-breakdown',
  'pool',
  'syscalls',
  'cli',
  'policy-size',
  'metadata',
  'pnpm',
  'uv',
  'throughput',
  'unix-sockets',
  'proxy',
  'profiles',
];
// Items named in ORDER whose file is not in this tree (none now); the report says they are pending.
const EXPECTED = {};

function itemNames() {
  const files = fs
    .readdirSync(path.join(__dirname, 'items'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3));
  return [...ORDER.filter((n) => files.includes(n) || EXPECTED[n]), ...files.filter((n) => !ORDER.includes(n)).sort()];
}

function loadItem(name) {
  const file = path.join(__dirname, 'items', `${name}.js`);
  return fs.existsSync(file) ? require(file) : undefined;
}

function parseArgs(argv) {
  const o = {
    quick: false,
    only: [],
    out: undefined,
    docs: false,
    into: undefined,
    report: true,
    peer: undefined,
    rounds: undefined,
    baseline: undefined,
    bwrap: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (name) => {
      if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
      if (i + 1 >= argv.length) throw new Error(`${name} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--docs') o.docs = true;
    else if (a === '--no-report') o.report = false;
    else if (a === '--no-bwrap') o.bwrap = false;
    else if (a === '--only' || a.startsWith('--only=')) o.only = value('--only').split(',').filter(Boolean);
    else if (a === '--out' || a.startsWith('--out=')) o.out = path.resolve(value('--out'));
    else if (a === '--into' || a.startsWith('--into=')) o.into = path.resolve(value('--into'));
    else if (a === '--peer' || a.startsWith('--peer=')) o.peer = path.resolve(value('--peer'));
    else if (a === '--baseline' || a.startsWith('--baseline=')) o.baseline = path.resolve(value('--baseline'));
    else if (a === '--rounds' || a.startsWith('--rounds=')) {
      o.rounds = Number(value('--rounds'));
      if (!(Number.isInteger(o.rounds) && o.rounds > 0)) throw new Error(`--rounds: not a positive integer`);
    } else throw new Error(`unknown option ${JSON.stringify(a)} (see the top of benchmark/run.js)`);
  }
  const names = itemNames();
  for (const n of o.only) if (!names.includes(n)) throw new Error(`--only: no item ${JSON.stringify(n)} (items: ${names.join(', ')})`);
  if (o.docs && !o.into && (o.quick || o.only.length))
    throw new Error('--docs: the checked-in results come from one full run (no --quick, no --only), or --into an existing one');
  for (const [k, dir] of [
    ['--peer', o.peer],
    ['--baseline', o.baseline],
  ]) {
    if (dir && !fs.existsSync(path.join(dir, 'dist', 'index.js')))
      throw new Error(`${k}=${dir}: no dist/index.js there (build that checkout first)`);
  }
  if (o.into && !fs.existsSync(o.into)) throw new Error(`--into: ${o.into} does not exist`);
  return o;
}

async function main() {
  const argv = process.argv.slice(2);
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(2);
  }
  const { quick, only } = opts;
  const log = (s) => process.stderr.write(`[bench] ${s}\n`);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ missing: run `npm run build` first');
  const outDir = opts.out ?? path.join(os.tmpdir(), 'sbx-native-bench');
  const work = path.join(os.tmpdir() === '/tmp' ? '/var/tmp' : os.tmpdir(), `sbx-bench-${quick ? 'quick' : 'full'}`);
  fs.mkdirSync(work, { recursive: true });
  const bwrap = opts.bwrap ? ensureBwrap(log) : { skipped: 'bwrap comparisons left out (--no-bwrap)' };
  if (bwrap.skipped) log(bwrap.skipped);
  const ctx = {
    quick,
    log,
    bwrap,
    work,
    peer: opts.peer ? require(path.join(opts.peer, 'dist')) : undefined,
    peerRoot: opts.peer,
    rounds: opts.rounds,
    baseline: opts.baseline,
    dir(name) {
      const d = path.join(work, name);
      fs.mkdirSync(d, { recursive: true });
      return fs.realpathSync(d);
    },
  };
  const started = new Date();
  const result = {
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    quick,
    started: started.toISOString(),
    host: hostInfo(),
    bwrap,
    items: {},
  };
  const runStart = load.snapshot();
  for (const name of itemNames()) {
    if (only.length && !only.includes(name)) continue;
    const fn = loadItem(name);
    if (!fn) {
      result.items[name] = { title: EXPECTED[name], pending: `benchmark/items/${name}.js is not in this tree yet` };
      continue;
    }
    const t0 = Date.now();
    const before = load.snapshot();
    log(`== ${name}`);
    try {
      result.items[name] = await fn(ctx);
    } catch (e) {
      log(`${name} failed: ${e.stack}`);
      result.items[name] = { error: String(e.message || e) };
    }
    const during = load.between(before, load.snapshot());
    result.items[name].seconds = Math.round((Date.now() - t0) / 100) / 10;
    result.items[name].loadavg = during.loadavg;
    result.items[name].load = during;
  }
  result.seconds = Math.round((Date.now() - started) / 100) / 10;
  result.load = load.between(runStart, load.snapshot(), 10);
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const file = path.join(outDir, `${quick ? 'quick' : 'run'}-${stamp}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
  log(`wrote ${file} (${result.seconds} s)`);
  let reportFrom = file;
  const checkedIn = path.join(__dirname, 'results', 'benchmarks.json');
  if (opts.into) {
    const base = JSON.parse(fs.readFileSync(opts.into, 'utf8'));
    base.extraRuns = [
      ...(base.extraRuns || []),
      {
        command: result.command,
        started: result.started,
        seconds: result.seconds,
        loadavgAtStart: result.host.loadavgAtStart,
        items: Object.keys(result.items),
      },
    ];
    const merged = {};
    for (const k of itemNames()) if (result.items[k] || base.items[k]) merged[k] = result.items[k] || base.items[k];
    base.items = merged;
    fs.writeFileSync(opts.into, JSON.stringify(base, null, 1) + '\n');
    log(`merged ${Object.keys(result.items).join(', ')} into ${opts.into}`);
    reportFrom = opts.into;
  } else if (opts.docs) {
    fs.copyFileSync(file, checkedIn);
    log(`wrote ${path.relative(ROOT, checkedIn)}`);
    reportFrom = checkedIn;
  }
  if (opts.report) {
    const report = require('./report');
    const out = opts.docs
      ? undefined
      : { md: path.join(outDir, quick ? 'quick.md' : 'benchmarks.md'), charts: path.join(outDir, 'charts') };
    const written = report.generate(reportFrom, out);
    log(`wrote ${written.length} files: ${written[0]} and charts`);
  }
  const failed = Object.entries(result.items).filter(([, v]) => v.error);
  if (failed.length) {
    log(`items failed: ${failed.map(([k]) => k).join(', ')}`);
    process.exitCode = 1;
  }
}

function round2(x) {
  return Math.round(x * 100) / 100;
}

function hostInfo() {
  let git = '';
  try {
    git =
      sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).trim() +
      (sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'lib', 'native']).trim() ? ' (lib/native modified)' : '');
  } catch {
    // Not a git checkout (an installed package): the results name no commit.
  }
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    user: os.userInfo().username,
    commit: git,
    loadavgAtStart: os.loadavg().map(round2),
  };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
