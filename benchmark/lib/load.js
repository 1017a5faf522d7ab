'use strict';
// What else ran during a measurement: the machine is shared, so each item
// records the load average before and after and the processes outside this
// benchmark that used the most CPU meanwhile (from /proc/PID/stat, in CPU
// seconds, a lower bound: see processes()), so a number measured next to
// someone's compile says so.
const fs = require('fs');
const os = require('os');

const TICK = 100; // USER_HZ: /proc reports clock ticks of 1/100 s on Linux

/** pid -> { ppid, ticks (utime + stime), cmd } of every process now. */
function processes() {
  const out = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const f = stat.slice(close + 2).split(' ');
      const cmd =
        fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ') ||
        stat.slice(stat.indexOf('(') + 1, close);
      // Its own time only: a parent's cutime would count its children's whole
      // lives again. A process that started and ended between two snapshots
      // is not seen: the figures are a lower bound.
      out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), cmd });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function snapshot() {
  return { at: Date.now(), loadavg: os.loadavg(), procs: processes() };
}

/** The benchmark's own processes: this one and its descendants (sandboxes, helpers, workloads). */
function ours(procs) {
  const mine = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of procs)
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid);
        grew = true;
      }
  }
  return mine;
}

const round2 = (x) => Math.round(x * 100) / 100;

/** The load between two snapshots: load averages, CPUs, and the top other processes by CPU seconds used. */
function between(a, b, top = 6) {
  const mine = ours(b.procs);
  const others = [];
  let otherTicks = 0;
  for (const [pid, p] of b.procs) {
    if (mine.has(pid)) continue;
    const used = p.ticks - (a.procs.get(pid)?.ticks ?? 0);
    if (used <= 0) continue;
    otherTicks += used;
    others.push({ pid, cpuSeconds: used / TICK, cmd: p.cmd.slice(0, 120) });
  }
  others.sort((x, y) => y.cpuSeconds - x.cpuSeconds);
  const seconds = (b.at - a.at) / 1000;
  return {
    loadavg: { before: a.loadavg.map(round2), after: b.loadavg.map(round2) },
    cpus: os.cpus().length,
    seconds: round2(seconds),
    // CPU seconds other processes used per wall second: 2.0 on this 2-CPU machine means it was full without us.
    otherCpusBusy: seconds > 0 ? round2(otherTicks / TICK / seconds) : 0,
    others: others.slice(0, top).map((o) => ({ ...o, cpuSeconds: round2(o.cpuSeconds) })),
  };
}

module.exports = { snapshot, between };
