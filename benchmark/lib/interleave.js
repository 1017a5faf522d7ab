'use strict';
// Runs variants A B C A B C ... in one process after warm-up rounds and
// summarizes each variant's samples. A variant is an async function returning
// one sample (a number) or an object whose `value` is the sample (the rest is
// kept as `extra`, e.g. disk growth). With `alternate`, odd rounds run in
// reverse order (A B, B A, ...): for workloads that leave work behind for the
// next one (ext4 journal commits, writeback after deleting 20,000 files).
const os = require('os');
const { summarize, ratio } = require('./stats');

async function interleave({ variants, warmup, samples, alternate = false, log = () => {} }) {
  const names = Object.keys(variants);
  const values = Object.fromEntries(names.map((n) => [n, []]));
  const extras = Object.fromEntries(names.map((n) => [n, []]));
  const load = [os.loadavg()[0]];
  for (let round = 0; round < warmup + samples; round++) {
    for (const name of alternate && round % 2 ? [...names].reverse() : names) {
      const r = await variants[name]();
      if (round < warmup) continue;
      const v = typeof r === 'number' ? r : r.value;
      values[name].push(v);
      if (typeof r === 'object') extras[name].push(r);
    }
    if (round >= warmup) log(`  round ${round - warmup + 1}/${samples}: ${names.map((n) => `${n}=${fmt(values[n].at(-1))}`).join(' ')}`);
  }
  load.push(os.loadavg()[0]);
  const out = {};
  for (const n of names) out[n] = { ...summarize(values[n]), samples: values[n].map((x) => Math.round(x * 1000) / 1000) };
  for (const n of names) if (extras[n].length) out[n].extra = extras[n];
  return { order: names, alternate, warmup, variants: out, loadavg1: load };
}

function fmt(x) {
  return x >= 100 ? x.toFixed(0) : x.toFixed(2);
}

/** `{ 'a/b': ratio }` for each pair given as [a, b]. */
function ratios(result, pairs) {
  const o = {};
  for (const [a, b] of pairs) {
    if (result.variants[a] && result.variants[b]) o[`${a}/${b}`] = ratio(result.variants[a], result.variants[b]);
  }
  return o;
}

module.exports = { interleave, ratios };
