/**
 * The SVG chart of `docs/benchmarks.md`, drawn from the results (never by hand): time per
 * operation against log size, log scale on both axes, one panel per operation, one line per
 * contender (sync-kit solid and thick, baselines dashed, peers thin).
 *
 * Plain SVG text with no dependencies; `rsvg-convert bench/results.svg -o chart.png` renders it.
 *
 * @module
 */
import type { BenchResults } from './run.js'
import { formatMs } from './report.js'
import type { ScalingOp, ScalingSeries } from './sections/scaling.js'

/** Width of one chart panel. */
export const PANEL_W = 360
const PANEL_H = 280
/** Space around a panel's plot. */
export const MARGIN: { left: number; right: number; top: number; bottom: number } = {
  left: 64,
  right: 16,
  top: 40,
  bottom: 44,
}
const LEGEND_H = 86

const PANELS: readonly { readonly op: ScalingOp; readonly title: string }[] = [
  { op: 'append', title: 'append: time per event' },
  { op: 'load-since', title: 'load(since): one page of 1,000' },
  { op: 'aggregate', title: 'aggregate lookup: 100 events' },
]

/** Stable colours per contender (sync-kit in the house blue). */
const COLOURS: readonly [match: string, colour: string][] = [
  ['sync-kit memory', '#1f5fbf'],
  ['sync-kit SQLite', '#0a9d8f'],
  ['array + Map', '#555555'],
  ['raw better-sqlite3', '#999999'],
  ['emmett-sqlite', '#d9822b'],
  ['emmett', '#c23b22'],
  ['logux', '#7b3fa0'],
]

function colourOf(name: string): string {
  return COLOURS.find(([match]) => name.startsWith(match))?.[1] ?? '#000000'
}

/**
 * Escapes text for SVG.
 * @param text - the text.
 * @returns the text with `&`, `<` and `>` escaped.
 */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * The powers of ten that enclose a range, for log-scale grid lines.
 * @param min - the smallest value (> 0).
 * @param max - the largest value.
 * @returns the decades from below `min` to above `max`.
 */
export function decadesAround(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min))
  const hi = Math.ceil(Math.log10(max))
  const out: number[] = []
  for (let e = lo; e <= hi; e++) out.push(10 ** e)
  return out
}

function countLabel(n: number): string {
  if (n >= 1_000_000) return `${n / 1_000_000}M`
  if (n >= 1_000) return `${n / 1_000}k`
  return String(n)
}

/**
 * The opening of a chart panel: its group, moved to `(x0, y0)`, and its title; for a panel with
 * nothing to draw, also "not measured" and the group's end.
 * @param x0 - left edge.
 * @param y0 - top edge.
 * @param title - the panel's title.
 * @param panelH - the panel's height.
 * @param measured - whether there are points to draw.
 * @returns SVG elements.
 */
export function panelOpen(
  x0: number,
  y0: number,
  title: string,
  panelH: number,
  measured: boolean,
): string[] {
  const parts = [
    `<g transform="translate(${x0},${y0})">`,
    `<text x="${MARGIN.left + (PANEL_W - MARGIN.left - MARGIN.right) / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ]
  if (!measured) {
    parts.push(
      `<text x="${PANEL_W / 2}" y="${panelH / 2}" text-anchor="middle" font-size="12">not measured</text></g>`,
    )
  }
  return parts
}

/**
 * A panel's plot frame and the labelled grid lines of its log-scale y axis.
 * @param ys - the y values of the grid lines (decades).
 * @param py - maps a y value to the SVG y coordinate.
 * @param w - the plot's width.
 * @param h - the plot's height.
 * @param label - a grid line's label.
 * @returns SVG elements.
 */
export function logYGrid(
  ys: readonly number[],
  py: (y: number) => number,
  w: number,
  h: number,
  label: (y: number) => string,
): string[] {
  const parts = [
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${w}" height="${h}" fill="#ffffff" stroke="#333333"/>`,
  ]
  for (const y of ys) {
    const yy = py(y).toFixed(1)
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + w}" y1="${yy}" y2="${yy}" stroke="#dddddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${yy}" dy="4" text-anchor="end" font-size="11">${escapeXml(label(y))}</text>`,
    )
  }
  return parts
}

function panel(
  x0: number,
  y0: number,
  title: string,
  series: readonly ScalingSeries[],
  sizes: readonly number[],
): string {
  const points = series.flatMap((s) => s.points)
  const parts = panelOpen(x0, y0, title, PANEL_H, points.length > 0)
  if (points.length === 0) return parts.join('\n')
  const xs = decadesAround(Math.min(...sizes), Math.max(...sizes))
  const ys = decadesAround(
    Math.min(...points.map((p) => p.ms)),
    Math.max(...points.map((p) => p.ms)),
  )
  const [xMin, xMax] = [Math.log10(xs[0] as number), Math.log10(xs.at(-1) as number)]
  const [yMin, yMax] = [Math.log10(ys[0] as number), Math.log10(ys.at(-1) as number)]
  const w = PANEL_W - MARGIN.left - MARGIN.right
  const h = PANEL_H - MARGIN.top - MARGIN.bottom
  const px = (n: number): number =>
    MARGIN.left + (xMax === xMin ? w / 2 : ((Math.log10(n) - xMin) / (xMax - xMin)) * w)
  const py = (ms: number): number =>
    MARGIN.top + h - (yMax === yMin ? h / 2 : ((Math.log10(ms) - yMin) / (yMax - yMin)) * h)
  parts.push(...logYGrid(ys, py, w, h, (ms) => formatMs(ms).replace(/\.0+ /, ' ')))
  for (const x of xs) {
    const xx = px(x).toFixed(1)
    parts.push(
      `<line x1="${xx}" x2="${xx}" y1="${MARGIN.top}" y2="${MARGIN.top + h}" stroke="#dddddd"/>`,
      `<text x="${xx}" y="${MARGIN.top + h + 16}" text-anchor="middle" font-size="11">${countLabel(x)}</text>`,
    )
  }
  parts.push(
    `<text x="${MARGIN.left + w / 2}" y="${PANEL_H - 8}" text-anchor="middle" font-size="12">events in the log (log scale)</text>`,
  )
  for (const s of series) {
    const colour = colourOf(s.name)
    const width = s.kind === 'sync-kit' ? 3 : 1.5
    const dash = s.kind === 'baseline' ? ' stroke-dasharray="6 4"' : ''
    const coords = s.points.map((p) => `${px(p.n).toFixed(1)},${py(p.ms).toFixed(1)}`)
    if (coords.length > 1) {
      parts.push(
        `<polyline points="${coords.join(' ')}" fill="none" stroke="${colour}" stroke-width="${width}"${dash}/>`,
      )
    }
    for (const p of s.points) {
      parts.push(
        `<circle cx="${px(p.n).toFixed(1)}" cy="${py(p.ms).toFixed(1)}" r="${s.kind === 'sync-kit' ? 4 : 3}" fill="${colour}"><title>${escapeXml(`${s.name}: ${formatMs(p.ms)} at ${p.n.toLocaleString('en-US')} events`)}</title></circle>`,
      )
    }
  }
  parts.push('</g>')
  return parts.join('\n')
}

/**
 * Draws the scaling chart.
 * @param results - the run's results (section 4 must have run).
 * @returns the SVG document.
 * @example
 * ```ts
 * import { renderChart } from './chart.js'
 *
 * await writeFile('bench/results.svg', renderChart(results))
 * ```
 */
export function renderChart(results: BenchResults): string {
  const scaling = results.scaling
  const series = scaling?.series ?? []
  const sizes = scaling?.sizes ?? [1]
  const width = PANEL_W * PANELS.length
  const height = 36 + PANEL_H + LEGEND_H
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${escapeXml(
      `sync-kit vs baselines and peers: median time per operation against log size (${results.meta.mode} run, ${results.meta.date.slice(0, 10)}, Node ${results.meta.node})`,
    )}</text>`,
  ]
  PANELS.forEach((p, i) => {
    parts.push(
      panel(
        i * PANEL_W,
        36,
        p.title,
        series.filter((s) => s.op === p.op),
        sizes,
      ),
    )
  })
  // Legend: every contender that appears in any panel.
  const names: { name: string; kind: ScalingSeries['kind'] }[] = []
  for (const s of series) {
    if (!names.some((n) => n.name === s.name)) names.push({ name: s.name, kind: s.kind })
  }
  const perRow = 4
  names.forEach((entry, i) => {
    const x = 20 + (i % perRow) * 270
    const y = 36 + PANEL_H + 24 + Math.floor(i / perRow) * 22
    const colour = colourOf(entry.name)
    const dash = entry.kind === 'baseline' ? ' stroke-dasharray="6 4"' : ''
    const label = entry.kind === 'baseline' ? `${entry.name} (baseline)` : entry.name
    parts.push(
      `<line x1="${x}" x2="${x + 30}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="${entry.kind === 'sync-kit' ? 3 : 1.5}"${dash}/>`,
      `<text x="${x + 38}" y="${y + 4}" font-size="12">${escapeXml(label)}</text>`,
    )
  })
  parts.push(
    `<text x="20" y="${height - 10}" font-size="11" fill="#555555">${escapeXml(
      'Lower is better. Peers whose inserts are O(n) per event appear only at the sizes they finish in reasonable time (see docs/benchmarks.md).',
    )}</text>`,
    '</svg>',
  )
  return `${parts.join('\n')}\n`
}
