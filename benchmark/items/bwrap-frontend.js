'use strict';
// The bwrap front end (docs/bwrap.md): `bwrap ... true` through the installed
// front end vs real bubblewrap vs `sbx-native exec`; the --version/--help
// probes Codex and sandbox-runtime make on every command; and one whole
// client command (`codex sandbox -- true`, `srt true`) with each bwrap first
// on PATH. Interleaved rounds, medians, ratios against the peer in the same run.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { interleave, ratios } = require('../lib/interleave');
const { timeCp, timeCpCpu, cpuMeans, ROOT } = require('../lib/proc');
const { target } = require('../lib/target');

const CLIENTS = '/var/cache/sbx-native-test-clients'; // test/clients.ts's cache (npm test installs them)

module.exports = async function bwrapFrontend(ctx) {
  const ws = ctx.dir('bwrap-ws');
  const node = process.execPath;
  const cliJs = path.join(ROOT, 'bin', 'sbx-native.js');
  // Outside /tmp so Codex accepts it; a fresh shim for this checkout.
  const binDir = ctx.dir('bwrap-frontend-bin');
  fs.chmodSync(binDir, 0o755);
  const inst = spawnSync(node, [cliJs, 'bwrap', '--install', binDir], { encoding: 'utf8' });
  if (inst.status !== 0) throw new Error(`bwrap --install failed: ${inst.stderr}`);
  const front = path.join(binDir, 'bwrap');
  // --peer: the other checkout's front end, installed by its own CLI, in the same rounds.
  let peerBin, peerFront;
  if (ctx.peerRoot) {
    peerBin = ctx.dir('bwrap-frontend-peer-bin');
    fs.chmodSync(peerBin, 0o755);
    const p = spawnSync(node, [path.join(ctx.peerRoot, 'bin', 'sbx-native.js'), 'bwrap', '--install', peerBin], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`peer bwrap --install failed: ${p.stderr}`);
    peerFront = path.join(peerBin, 'bwrap');
  }
  const real = ctx.bwrap.path;
  const samples = ctx.quick ? 5 : 40;
  const warmup = ctx.quick ? 1 : 5;
  const argv = [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--bind',
    ws,
    ws,
    '--unshare-user',
    '--unshare-pid',
    '--unshare-net',
    '--proc',
    '/proc',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--',
    'true',
  ];
  const cases = {};
  const targets = [];

  const run = {
    'front end': () => timeCpCpu(front, argv, { cwd: ws }),
    'sbx-native exec': () => timeCpCpu(node, [cliJs, 'exec', '--tmp', 'none', '-w', ws, '--', 'true'], { cwd: ws }),
  };
  if (real) run['real bwrap'] = () => timeCpCpu(real, argv, { cwd: ws });
  if (peerFront) run['front end (peer)'] = () => timeCpCpu(peerFront, argv, { cwd: ws });
  ctx.log(`bwrap ... true: ${samples} rounds`);
  cases.true = await interleave({ variants: run, warmup, samples, log: ctx.quick ? () => {} : ctx.log });
  cases.true.ratios = ratios(cases.true, [
    ['front end', 'real bwrap'],
    ['front end', 'sbx-native exec'],
    ...(peerFront ? [['front end', 'front end (peer)']] : []),
  ]);
  cases.true.commands = {
    'front end': `${front} ${argv.join(' ')}`,
    'real bwrap': `${real} ${argv.join(' ')}`,
    'sbx-native exec': `node bin/sbx-native.js exec --tmp none -w ${ws} -- true`,
  };

  const probes = {
    'front end --version': () => timeCp(front, ['--version']),
    'front end --help': () => timeCp(front, ['--help']),
  };
  if (real) {
    probes['real bwrap --version'] = () => timeCp(real, ['--version']);
    probes['real bwrap --help'] = () => timeCp(real, ['--help']);
  }
  cases.probes = await interleave({ variants: probes, warmup, samples, log: ctx.quick ? () => {} : ctx.log });
  cases.probes.ratios = ratios(cases.probes, [
    ['front end --version', 'real bwrap --version'],
    ['front end --help', 'real bwrap --help'],
  ]);
  targets.push(target('front end --version < 5 ms (no Node)', cases.probes.variants['front end --version'].median, (x) => x < 5));

  // Whole client commands, each with one bwrap first on PATH.
  const realDir = real ? path.dirname(real) : undefined;
  const pathWith = (dir) => `${dir}:/usr/local/bin:/usr/bin:/bin`;
  const codex = path.join(CLIENTS, '@openai+codex@0.171.0', 'node_modules', '.bin', 'codex');
  if (fs.existsSync(codex) && real) {
    const home = ctx.dir('bwrap-codex-home');
    // Codex refuses a CODEX_HOME under $TMPDIR, where the harness's work directory lies whenever TMPDIR is set
    // (an unprivileged run): both variants run without it.
    const env = (dir) => {
      const e = { ...process.env, PATH: pathWith(dir), CODEX_HOME: home };
      delete e.TMPDIR;
      return e;
    };
    const args = ['sandbox', '-c', 'sandbox_mode="workspace-write"', '--', 'true'];
    const variants = {
      'codex sandbox, front end': () => timeCpCpu(codex, args, { cwd: ws, env: env(binDir) }),
      'codex sandbox, real bwrap': () => timeCpCpu(codex, args, { cwd: ws, env: env(realDir) }),
    };
    if (peerBin) variants['codex sandbox, front end (peer)'] = () => timeCpCpu(codex, args, { cwd: ws, env: env(peerBin) });
    cases.codex = await interleave({
      variants,
      warmup,
      samples: ctx.quick ? 3 : 20,
      log: ctx.quick ? () => {} : ctx.log,
    });
    cases.codex.ratios = ratios(cases.codex, [
      ['codex sandbox, front end', 'codex sandbox, real bwrap'],
      ...(peerBin ? [['codex sandbox, front end (peer)', 'codex sandbox, real bwrap']] : []),
    ]);
    const r = cases.codex.ratios['codex sandbox, front end/codex sandbox, real bwrap'];
    targets.push(target('codex sandbox -- true: front end <= 1.5x real bwrap', r, (x) => x <= 1.5));
  } else ctx.log(`codex: skipped (${codex} missing or no real bwrap)`);
  const srt = path.join(CLIENTS, '@anthropic-ai+sandbox-runtime@0.0.83', 'node_modules', '.bin', 'srt');
  if (fs.existsSync(srt) && real) {
    // Without its seccomp helper: the mode that runs on the front end (docs/bwrap.md), the same settings for both.
    const settings = path.join(ws, '..', 'bwrap-srt-settings.json');
    fs.writeFileSync(
      settings,
      JSON.stringify({
        network: { allowedDomains: [], deniedDomains: [], allowAllUnixSockets: true },
        filesystem: { denyRead: [], allowWrite: [ws], denyWrite: [] },
      }),
    );
    const env = (dir) => ({ ...process.env, PATH: pathWith(dir) });
    const variants = {
      'srt true, front end': () => timeCpCpu(srt, ['--settings', settings, 'true'], { cwd: ws, env: env(binDir) }),
      'srt true, real bwrap': () => timeCpCpu(srt, ['--settings', settings, 'true'], { cwd: ws, env: env(realDir) }),
    };
    if (peerBin)
      variants['srt true, front end (peer)'] = () => timeCpCpu(srt, ['--settings', settings, 'true'], { cwd: ws, env: env(peerBin) });
    cases.srt = await interleave({
      variants,
      warmup,
      samples: ctx.quick ? 3 : 20,
      log: ctx.quick ? () => {} : ctx.log,
    });
    cases.srt.ratios = ratios(cases.srt, [
      ['srt true, front end', 'srt true, real bwrap'],
      ...(peerBin ? [['srt true, front end (peer)', 'srt true, real bwrap']] : []),
    ]);
    const r = cases.srt.ratios['srt true, front end/srt true, real bwrap'];
    targets.push(target('srt true: front end <= 1.2x real bwrap', r, (x) => x <= 1.2));
  } else ctx.log(`srt: skipped (${srt} missing or no real bwrap)`);
  // CPU time per run (mean; the process tree each variant waited for), and its ratios for the same pairs.
  for (const c of Object.values(cases)) {
    const cpu = cpuMeans(c);
    if (!Object.keys(cpu).length) continue;
    c.cpuMs = cpu;
    c.cpuRatios = Object.fromEntries(
      Object.keys(c.ratios)
        .map((k) => [k, k.split('/')])
        .filter(([, [a, b]]) => cpu[a] && cpu[b])
        .map(([k, [a, b]]) => [k, Math.round((cpu[a] / cpu[b]) * 1000) / 1000]),
    );
  }
  for (const [k, c] of Object.entries(cases))
    ctx.log(
      `  ${k}: ${Object.entries(c.variants)
        .map(([n, v]) => `${n} ${v.median} ms`)
        .join(
          ', ',
        )}; ${JSON.stringify(c.ratios)}${c.cpuRatios ? `; CPU ms ${JSON.stringify(c.cpuMs)}, CPU ratios ${JSON.stringify(c.cpuRatios)}` : ''}`,
    );
  return { title: 'bwrap front end vs real bubblewrap', unit: 'ms', cases, targets };
};
