// The benchmark table, as printed and as written to bench/RESULTS.md (a Markdown table).

/** `rows`: { name, ours, peer, ratio, target, pass: true | false | null, verdict? }. */
export function renderTable(rows) {
  const header = ['Benchmark', 'token-warden', 'Peer', 'Ratio', 'Target', 'Result'];
  const lines = rows.map((r) => [
    r.name,
    r.ours,
    r.peer,
    r.ratio,
    r.target,
    r.pass === null ? 'info' : r.pass ? (r.verdict ?? 'PASS') : 'FAIL',
  ]);
  const escape = (s) => String(s).replace(/\|/g, '\\|');
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => escape(l[i]).length)));
  const fmt = (cells) => `| ${cells.map((c, i) => escape(c).padEnd(widths[i])).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}
