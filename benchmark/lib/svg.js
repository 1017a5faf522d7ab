'use strict';
// A horizontal bar chart as a standalone SVG string: one bar per variant at
// its median, a whisker from p10 to p90. No dependencies.

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function barChart({ title, unit, rows }) {
  const labelW = 230;
  const plotW = 380;
  const rowH = 24;
  const top = 34;
  const width = labelW + plotW + 110;
  const height = top + rows.length * rowH + 26;
  const max = Math.max(...rows.map((r) => r.p90 ?? r.median), 1e-9) * 1.05;
  const x = (v) => labelW + (v / max) * plotW;
  const colors = ['#2b6cb0', '#718096', '#c05621', '#2f855a', '#6b46c1', '#b7791f', '#c53030', '#285e61', '#97266d', '#4a5568', '#2c5282'];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const c = colors[i % colors.length];
    out.push(`<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`);
    out.push(
      `<rect x="${labelW}" y="${y + 4}" width="${Math.max(1, x(r.median) - labelW).toFixed(1)}" height="${rowH - 8}" fill="${c}" opacity="0.85"/>`,
    );
    if (r.p10 !== undefined && r.p90 !== undefined) {
      const ym = y + rowH / 2;
      out.push(`<line x1="${x(r.p10).toFixed(1)}" x2="${x(r.p90).toFixed(1)}" y1="${ym}" y2="${ym}" stroke="#000" stroke-width="1.2"/>`);
      for (const v of [r.p10, r.p90])
        out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${ym - 5}" y2="${ym + 5}" stroke="#000" stroke-width="1.2"/>`);
    }
    out.push(`<text x="${(x(Math.max(r.median, r.p90 ?? 0)) + 6).toFixed(1)}" y="${y + 15}">${esc(fmt(r.median))} ${esc(unit)}</text>`);
  });
  const yb = top + rows.length * rowH + 16;
  out.push(`<text x="${labelW}" y="${yb}" fill="#555" font-size="11">bar: median; whisker: p10-p90</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function fmt(v) {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

module.exports = { barChart, fmt };
