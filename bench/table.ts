/** The benches' result tables: Markdown, columns padded so they also read well in a terminal. */

/** `rightAlign[i]` right-aligns column i (numbers); by default every column but the first. */
export function markdownTable(header: string[], rows: string[][], rightAlign: boolean[] = header.map((_, i) => i > 0)): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    '| ' + cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(' | ') + ' |';
  const sep = '| ' + widths.map((w, i) => (rightAlign[i] ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ') + ' |';
  return [line(header), sep, ...rows.map(line)].join('\n');
}
