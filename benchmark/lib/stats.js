'use strict';
// Order statistics for a list of samples: median, p10/p90, IQR.

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 1000) / 1000;
  return {
    n: s.length,
    median: r(quantile(s, 0.5)),
    p10: r(quantile(s, 0.1)),
    p25: r(quantile(s, 0.25)),
    p75: r(quantile(s, 0.75)),
    p90: r(quantile(s, 0.9)),
    min: r(s[0]),
    max: r(s[s.length - 1]),
  };
}

/** Ratio of two medians, rounded to 3 decimals. */
function ratio(a, b) {
  return Math.round((a.median / b.median) * 1000) / 1000;
}

module.exports = { quantile, summarize, ratio };
