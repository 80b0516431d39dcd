// Hand-written SVG charts: no dependencies. Each function returns an SVG
// document as a string.

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];

export function esc(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// A chart read on its own (an image in an issue) still says where and when it was measured.
const FOOTER_H = 16;
// Squeezed into the width when longer than it (about 5.5 px a character at 10 px).
const footerText = (text, H, W) => `<text x="8" y="${H - 5}" font-size="10" fill="#777"${text.length * 5.5 > W - 16 ? ` textLength="${W - 16}" lengthAdjust="spacingAndGlyphs"` : ''}>${esc(text)}</text>`;

function niceCeil(x) {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function fmtTick(v) {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(0);
  if (Math.abs(v) >= 1) return String(Number(v.toFixed(1)));
  if (Math.abs(v) >= 0.1) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(2)));
}

/**
 * A line chart with a log2 x axis (chunk sizes) and a linear y axis from 0.
 * series: [{ name, points: [{ x, y }] }]; marks: optional [{ series, x, label }].
 */
export function lineChart({ title, subtitle = '', footer = '', xLabel, yLabel, series, xTick = (x) => String(x), marks = [] }) {
  const W = 640;
  const F = footer ? FOOTER_H : 0;
  const H = 380 + F;
  const m = { l: 72, r: 56, t: subtitle ? 62 : 46, b: 56 + F };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite);
  const yMax = niceCeil(Math.max(...ys, 0) * 1.1);
  const lx0 = Math.log2(xs[0] ?? 1);
  const lx1 = Math.log2(xs[xs.length - 1] ?? 2);
  const X = (x) => m.l + (lx1 === lx0 ? pw / 2 : ((Math.log2(x) - lx0) / (lx1 - lx0)) * pw);
  const Y = (y) => m.t + ph - (y / yMax) * ph;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ${FONT} font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`);
  if (subtitle) out.push(`<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    const y = Y(v);
    out.push(`<line x1="${m.l}" y1="${y.toFixed(1)}" x2="${m.l + pw}" y2="${y.toFixed(1)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${m.l - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#333">${fmtTick(v)}</text>`);
  }
  for (const x of xs) {
    out.push(`<line x1="${X(x).toFixed(1)}" y1="${m.t}" x2="${X(x).toFixed(1)}" y2="${m.t + ph}" stroke="#f1f5f9"/>`);
    out.push(`<text x="${X(x).toFixed(1)}" y="${m.t + ph + 18}" text-anchor="middle" fill="#333">${esc(xTick(x))}</text>`);
  }
  out.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 12 - F}" text-anchor="middle" fill="#333">${esc(xLabel)}</text>`);
  if (footer) out.push(footerText(footer, H, W));
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${pts.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      out.push(`<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="4" fill="${color}"><title>${esc(`${s.name}: ${xTick(p.x)} → ${fmtTick(p.y)}`)}</title></circle>`);
      out.push(`<text x="${X(p.x).toFixed(1)}" y="${(Y(p.y) - 9).toFixed(1)}" text-anchor="middle" font-size="11" fill="${color}">${fmtTick(p.y)}</text>`);
    }
    if (series.length > 1) {
      const ly = m.t + 4 + i * 16;
      out.push(`<rect x="${m.l + pw - 150}" y="${ly}" width="12" height="12" fill="${color}"/>`);
      out.push(`<text x="${m.l + pw - 132}" y="${ly + 10}">${esc(s.name)}</text>`);
    }
  });
  for (const mk of marks) {
    const s = series.find((x) => x.name === mk.series) ?? series[0];
    const p = s?.points.find((q) => q.x === mk.x);
    if (!p) continue;
    out.push(`<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="8" fill="none" stroke="#111" stroke-width="1.5"/>`);
    const anchor = X(p.x) > m.l + pw - 40 ? 'end' : X(p.x) < m.l + 40 ? 'start' : 'middle';
    out.push(`<text x="${X(p.x).toFixed(1)}" y="${(Y(p.y) + 22).toFixed(1)}" text-anchor="${anchor}" font-size="11" fill="#111">${esc(mk.label)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * Grouped horizontal bars on a log10 axis (throughputs that span orders of
 * magnitude), each bar labelled with its value.
 * groups: [{ label, bars: [{ name, value, text, kind: 'pagewise'|'peer'|'limit' }] }]
 */
export function barChart({ title, subtitle = '', footer = '', unit, groups }) {
  const W = 760;
  const F = footer ? FOOTER_H : 0;
  const rowH = 20;
  const gap = 14;
  const m = { l: 240, r: 90, t: subtitle ? 66 : 50, b: 44 };
  const rows = groups.reduce((n, g) => n + g.bars.length + 1, 0); // + a header row per group
  const ph = rows * rowH + groups.length * gap;
  const H = m.t + ph + m.b + F;
  const pw = W - m.l - m.r;
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0 && Number.isFinite(v));
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 1) * 1.01));
  const X = (v) => m.l + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * pw;
  const color = { pagewise: '#2563eb', peer: '#9ca3af', limit: '#111827' };
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ${FONT} font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`);
  if (subtitle) out.push(`<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`);
  for (let p = Math.log10(lo); p <= Math.log10(hi) + 1e-9; p++) {
    const v = 10 ** p;
    const x = X(v);
    out.push(`<line x1="${x.toFixed(1)}" y1="${m.t - 6}" x2="${x.toFixed(1)}" y2="${m.t + ph}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle" fill="#333">${fmtTick(v)}</text>`);
  }
  out.push(`<text x="${m.l + pw / 2}" y="${H - 10 - F}" text-anchor="middle" fill="#333">${esc(unit)} (log scale)</text>`);
  if (footer) out.push(footerText(footer, H, W));
  let y = m.t;
  for (const g of groups) {
    out.push(`<text x="8" y="${y + 14}" font-weight="600">${esc(g.label)}</text>`);
    y += rowH;
    for (const b of g.bars) {
      const w = Math.max(1, X(b.value) - m.l);
      out.push(`<text x="${m.l - 6}" y="${y + 14}" text-anchor="end" fill="#333">${esc(b.name)}</text>`);
      if (b.value > 0 && Number.isFinite(b.value)) {
        out.push(`<rect x="${m.l}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color[b.kind] ?? color.peer}"><title>${esc(`${b.name}: ${b.text}`)}</title></rect>`);
        out.push(`<text x="${(m.l + w + 5).toFixed(1)}" y="${y + 14}" fill="#111">${esc(b.text)}</text>`);
      } else {
        out.push(`<text x="${m.l + 4}" y="${y + 14}" fill="#999">${esc(b.text || 'skipped')}</text>`);
      }
      y += rowH;
    }
    y += gap;
  }
  out.push(`<line x1="${m.l}" y1="${m.t - 6}" x2="${m.l}" y2="${m.t + ph}" stroke="#333"/>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
