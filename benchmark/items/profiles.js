'use strict';
// Profiles that explain the numbers: `strace -f -c` of the CLI and of
// `node -e 0`, and of one sbx.spawn('true') from a small Node script (the
// helper's own syscalls). Kept as text in the results JSON.
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ROOT } = require('../lib/proc');

function strace(argv, cwd) {
  const out = path.join(os.tmpdir(), `sbx-bench-strace-${process.pid}.txt`);
  const r = cp.spawnSync(
    'strace',
    ['-f', '-c', '-S', 'time', '-e', 'trace=!futex,epoll_pwait,epoll_wait,waitid,wait4,clock_nanosleep,poll,ppoll', '-o', out, ...argv],
    { cwd, encoding: 'utf8' },
  );
  if (r.error) return { skipped: `strace: ${r.error.message}` };
  const text = fs.readFileSync(out, 'utf8');
  fs.rmSync(out, { force: true });
  const lines = text.trim().split('\n');
  // header (2 lines) + top 12 rows + total
  return {
    command: argv.map((a) => (a.length > 80 ? a.slice(0, 77) + '...' : a)).join(' '),
    top: [...lines.slice(0, 14), lines.at(-1)].join('\n'),
  };
}

module.exports = async function profiles(ctx) {
  const ws = ctx.dir('workspace');
  const node = process.execPath;
  const cli = path.join(ROOT, 'bin', 'sbx-native.js');
  const spawnOne = `const s=require(${JSON.stringify(path.join(ROOT, 'dist'))});s.run('/bin/true',[],{sandbox:{writableRoots:[${JSON.stringify(ws)}]}}).then(r=>process.exit(r.code))`;
  const out = { title: 'Profiles (strace -f -c; strace inflates syscall-heavy paths, read for shape not time)', profiles: {} };
  out.profiles['sbx-native exec -- true'] = strace([node, cli, 'exec', '-w', ws, '--', 'true'], ws);
  out.profiles['node -e 0'] = strace([node, '-e', '0'], ws);
  out.profiles['node: require(sbx-native) + one sbx.run(true)'] = strace([node, '-e', spawnOne], ws);
  if (ctx.bwrap.path)
    out.profiles['bwrap true'] = strace(
      [ctx.bwrap.path, '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all', '--bind', ws, ws, 'true'],
      ws,
    );
  // Module load cost of the library, which the CLI pays on every run.
  const t = (args) => {
    const x = [];
    for (let i = 0; i < (ctx.quick ? 3 : 15); i++) {
      const t0 = process.hrtime.bigint();
      cp.spawnSync(node, args, { cwd: ws });
      x.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return Math.round(x.sort((a, b) => a - b)[Math.floor(x.length / 2)] * 100) / 100;
  };
  out.moduleLoadMs = {
    'node -e 0': t(['-e', '0']),
    "node -e require('sbx-native')": t(['-e', `require(${JSON.stringify(path.join(ROOT, 'dist'))})`]),
    'node bin/sbx-native.js exec --dry-run -- true': t([cli, 'exec', '-w', ws, '--dry-run', '--', 'true']),
    'node bin/sbx-native.js exec -- true': t([cli, 'exec', '-w', ws, '--', 'true']),
  };
  // Cold vs warm spawn inside one fresh process: the CLI only ever does the cold one.
  const coldWarm =
    `const t=()=>Number(process.hrtime.bigint())/1e6;let a=t();const s=require(${JSON.stringify(path.join(ROOT, 'dist'))});const req=t()-a;` +
    `const one=async()=>{const b=t();await s.run('/bin/true',[],{sandbox:{writableRoots:[${JSON.stringify(ws)}]}});return t()-b};` +
    `(async()=>{const c=await one();const w=[];for(let i=0;i<5;i++)w.push(await one());w.sort((x,y)=>x-y);console.log(JSON.stringify({requireMs:req,firstSpawnMs:c,laterSpawnMs:w[2]}))})()`;
  const cw = [];
  for (let i = 0; i < (ctx.quick ? 3 : 11); i++)
    cw.push(JSON.parse(cp.spawnSync(node, ['-e', coldWarm], { cwd: ws, encoding: 'utf8' }).stdout));
  const med = (k) => Math.round(cw.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(cw.length / 2)] * 100) / 100;
  out.coldSpawn = {
    'require(sbx-native) ms': med('requireMs'),
    'first sbx.run(true) in a fresh process ms': med('firstSpawnMs'),
    'later sbx.run(true) ms': med('laterSpawnMs'),
  };
  ctx.log(`  cold/warm spawn (medians, ms): ${JSON.stringify(out.coldSpawn)}`);
  ctx.log(`  module load (median of sequential runs, ms): ${JSON.stringify(out.moduleLoadMs)}`);
  return out;
};
