'use strict';
// Entry point: `npm run bench` (full) or `npm run bench -- --quick` (harness
// smoke test, < 2 min). Options: --only=cli,pnpm  --no-report
// --baseline=DIR: item `builds` compares this build with the one in DIR.
// --peer=CHECKOUT: the items that know it (syscalls, pnpm) also run another
// built checkout's sbx (its dist/ and helper), interleaved, as "sbx (peer)".
// --rounds=N: measured rounds for those items (noisy machines need more).
// --into=FILE: run the --only items and merge them into an existing full
// results file (recording the extra command), then regenerate the docs from it.
// Full runs write results/run-<time>.json and results/benchmarks.json (the
// file docs/benchmarks.md and charts/ are generated from); quick runs write
// results/quick-<time>.json and a report under results/quick/ (not committed).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ensureBwrap } = require('./lib/bwrap');
const { sh, ROOT } = require('./lib/proc');

const ITEMS = {
  'spawn-latency': require('./items/spawn-latency'),
  'spawn-breakdown': require('./items/spawn-breakdown'),
  cli: require('./items/cli'),
  'policy-size': require('./items/policy-size'),
  metadata: require('./items/metadata'),
  syscalls: require('./items/syscalls'),
  pnpm: require('./items/pnpm'),
  uv: require('./items/uv'),
  throughput: require('./items/throughput'),
  'unix-sockets': require('./items/unix-sockets'),
  profiles: require('./items/profiles'),
  builds: require('./items/builds'),
  'bwrap-frontend': require('./items/bwrap-frontend'),
  proxy: require('./items/proxy'),
  pool: require('./items/pool'),
};

async function main() {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const only = (argv.find((a) => a.startsWith('--only=')) || '').slice(7).split(',').filter(Boolean);
  const log = (s) => process.stderr.write(`[bench] ${s}\n`);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ missing: run `node scripts/build-native.js && npx tsc -p .` first');
  const work = path.join(os.tmpdir() === '/tmp' ? '/var/tmp' : os.tmpdir(), `sbx-bench-${quick ? 'quick' : 'full'}`);
  fs.mkdirSync(work, { recursive: true });
  const bwrap = ensureBwrap(log);
  if (bwrap.skipped) log(bwrap.skipped);
  const peerDir = (argv.find((a) => a.startsWith('--peer=')) || '').slice(7);
  const roundsArg = (argv.find((a) => a.startsWith('--rounds=')) || '').slice(9);
  if (roundsArg && !(Number.isInteger(Number(roundsArg)) && Number(roundsArg) > 0)) throw new Error(`--rounds=${roundsArg}: not a positive integer`);
  if (peerDir && !fs.existsSync(path.join(peerDir, 'dist', 'index.js'))) throw new Error(`--peer=${peerDir}: no dist/index.js there (build that checkout first)`);
  const ctx = {
    quick, log, bwrap, work,
    peer: peerDir ? require(path.resolve(peerDir, 'dist')) : undefined,
    rounds: roundsArg ? Number(roundsArg) : undefined,
    dir(name) {
      const d = path.join(work, name);
      fs.mkdirSync(d, { recursive: true });
      return fs.realpathSync(d);
    },
  };
  const started = new Date();
  const result = {
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    quick, started: started.toISOString(), host: hostInfo(), bwrap, items: {},
  };
  for (const [name, fn] of Object.entries(ITEMS)) {
    if (only.length && !only.includes(name)) continue;
    const t0 = Date.now();
    const load0 = os.loadavg();
    log(`== ${name}`);
    try {
      result.items[name] = await fn(ctx);
    } catch (e) {
      log(`${name} failed: ${e.stack}`);
      result.items[name] = { error: String(e.message || e) };
    }
    result.items[name].seconds = Math.round((Date.now() - t0) / 100) / 10;
    result.items[name].loadavg = { before: load0.map(round2), after: os.loadavg().map(round2) };
  }
  result.seconds = Math.round((Date.now() - started) / 100) / 10;
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${quick ? 'quick' : 'run'}-${stamp}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
  log(`wrote ${path.relative(ROOT, file)} (${result.seconds} s)`);
  let reportFrom = file;
  const into = (argv.find((a) => a.startsWith('--into=')) || '').slice(7);
  if (into) {
    const base = JSON.parse(fs.readFileSync(into, 'utf8'));
    base.extraRuns = [...(base.extraRuns || []), { command: result.command, started: result.started, seconds: result.seconds, loadavgAtStart: result.host.loadavgAtStart, items: Object.keys(result.items) }];
    const merged = {};
    for (const k of Object.keys(ITEMS)) if (result.items[k] || base.items[k]) merged[k] = result.items[k] || base.items[k];
    base.items = merged;
    fs.writeFileSync(into, JSON.stringify(base, null, 1) + '\n');
    log(`merged ${Object.keys(result.items).join(', ')} into ${path.relative(ROOT, into)}`);
    reportFrom = into;
  } else if (!quick && !only.length) fs.copyFileSync(file, path.join(dir, 'benchmarks.json'));
  if (!argv.includes('--no-report')) {
    const report = require('./report');
    const out = (quick || only.length) && !into ? { md: path.join(dir, 'quick', 'benchmarks.md'), charts: path.join(dir, 'quick', 'charts') } : undefined;
    const written = report.generate(reportFrom, out);
    log(`wrote ${written.map((f) => path.relative(ROOT, f)).join(', ')}`);
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
    git = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).trim() + (sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'lib', 'native']).trim() ? ' (lib/native modified)' : '');
  } catch {
    // Not a git checkout (an installed package): the results name no commit.
  }
  return {
    cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(),
    node: process.version, user: os.userInfo().username, commit: git, loadavgAtStart: os.loadavg().map(round2),
  };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
