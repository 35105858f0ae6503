// The fleet simulation's chart as a hand-written SVG: token-server requests per second of simulated time, on a
// log scale, in two panels: the three token lifetimes (synchronised herd vs spread), then the minutes around the
// first refresh with the outage variants. No dependency: polylines, axes, labels and a legend.

const W = 960;
const PAD = { left: 78, right: 24 };
const PANEL_H = 250;
const PLOT_W = W - PAD.left - PAD.right;
const Y_MAX_DECADE = 5; // 10^5 fetches/s: above any herd of up to 100,000 managers per second of burst

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n0 = (n) => Math.round(n).toLocaleString('en');
const clock = (s) => {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s - m * 60)).padStart(2, '0')}`;
};

/**
 * @param {object} chart
 * @param {string} chart.title
 * @param {string} chart.subtitle
 * @param {Array<{ label: string, color: string, dash?: string, perSecond: number[], panels: number[] }>} chart.series
 * @param {Array<{ title: string, from: number, to: number, tickEvery: number, band?: { from: number, to: number, label: string } }>} chart.panels
 *   Times in seconds of simulated time.
 */
export function fleetChart({ title, subtitle, series, panels }) {
  const legendH = 22 * series.length + 12;
  const top0 = 70;
  const gap = 62;
  const H = top0 + panels.length * (PANEL_H + gap) + legendH;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="${W / 2}" y="46" text-anchor="middle" fill="#444">${esc(subtitle)}</text>`,
  );

  panels.forEach((panel, p) => {
    const top = top0 + p * (PANEL_H + gap);
    const x = (s) => PAD.left + ((s - panel.from) / (panel.to - panel.from)) * PLOT_W;
    const y = (v) => top + PANEL_H - (Math.log10(Math.max(1, v)) / Y_MAX_DECADE) * PANEL_H;
    out.push(`<text x="${PAD.left}" y="${top - 10}" font-weight="bold">${esc(panel.title)}</text>`);
    if (panel.band) {
      const from = Math.max(panel.from, panel.band.from);
      const to = Math.min(panel.to, panel.band.to);
      out.push(
        `<rect x="${x(from).toFixed(1)}" y="${top}" width="${(x(to) - x(from)).toFixed(1)}" height="${PANEL_H}" fill="#f3d9d9"/>`,
        `<text x="${(x(to) - 6).toFixed(1)}" y="${top + 16}" text-anchor="end" fill="#8a2b2b">${esc(panel.band.label)}</text>`,
      );
    }
    // Grid and y axis: one line per decade.
    for (let d = 0; d <= Y_MAX_DECADE; d++) {
      const yy = y(10 ** d).toFixed(1);
      out.push(
        `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`,
        `<text x="${PAD.left - 8}" y="${Number(yy) + 4}" text-anchor="end">${d === 0 ? '≤ 1' : n0(10 ** d)}</text>`,
      );
    }
    // X axis ticks (mm:ss of simulated time since the burst).
    for (let s = Math.ceil(panel.from / panel.tickEvery) * panel.tickEvery; s <= panel.to; s += panel.tickEvery) {
      const xx = x(s).toFixed(1);
      out.push(
        `<line x1="${xx}" x2="${xx}" y1="${top}" y2="${top + PANEL_H}" stroke="#eee"/>`,
        `<line x1="${xx}" x2="${xx}" y1="${top + PANEL_H}" y2="${top + PANEL_H + 5}" stroke="#333"/>`,
        `<text x="${xx}" y="${top + PANEL_H + 18}" text-anchor="middle">${clock(s)}</text>`,
      );
    }
    out.push(
      `<rect x="${PAD.left}" y="${top}" width="${PLOT_W}" height="${PANEL_H}" fill="none" stroke="#333"/>`,
      `<text x="${PAD.left + PLOT_W / 2}" y="${top + PANEL_H + 36}" text-anchor="middle" fill="#444">simulated time since the reconnect burst (min:s)</text>`,
      `<text transform="translate(18 ${top + PANEL_H / 2}) rotate(-90)" text-anchor="middle" fill="#444">fetches per second (log)</text>`,
    );
    out.push(`<clipPath id="clip${p}"><rect x="${PAD.left}" y="${top - 1}" width="${PLOT_W}" height="${PANEL_H + 2}"/></clipPath>`);
    for (const s of series) {
      if (!s.panels.includes(p)) continue;
      out.push(
        `<polyline clip-path="url(#clip${p})" fill="none" stroke="${s.color}" stroke-width="1.4"${
          s.dash ? ` stroke-dasharray="${s.dash}"` : ''
        } stroke-linejoin="round" points="${points(s.perSecond, panel, x, y)}"/>`,
      );
    }
  });

  // Legend.
  const legendTop = top0 + panels.length * (PANEL_H + gap) + 4;
  series.forEach((s, i) => {
    const yy = legendTop + i * 22;
    out.push(
      `<line x1="${PAD.left}" x2="${PAD.left + 34}" y1="${yy}" y2="${yy}" stroke="${s.color}" stroke-width="3"${
        s.dash ? ` stroke-dasharray="${s.dash}"` : ''
      }/>`,
      `<text x="${PAD.left + 44}" y="${yy + 4}">${esc(s.label)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** One point per second in the panel's range, leaving out the inner points of runs of equal values. */
function points(perSecond, panel, x, y) {
  const from = Math.max(0, Math.floor(panel.from));
  const to = Math.min(perSecond.length - 1, Math.ceil(panel.to));
  const pts = [];
  for (let s = from; s <= to; s++) {
    const v = perSecond[s];
    if (s > from && s < to && v === perSecond[s - 1] && v === perSecond[s + 1]) continue;
    pts.push(`${x(s).toFixed(1)},${y(v).toFixed(1)}`);
  }
  return pts.join(' ');
}
