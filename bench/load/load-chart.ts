/**
 * The chart of the load test in docs/benchmarks.md: latency against the number of live clients,
 * drawn from `npm run load` reports (never by hand). One panel per latency (push round trip,
 * record → ack, live delivery), p50 solid and p99 dashed, clients on a linear axis, ms on a log
 * axis. A run whose clients did not settle in time, or whose check failed, is drawn with a hollow
 * marker and named so in the footer.
 *
 * Run: `node --import tsx bench/load/load-chart.ts --out bench/load/load-latency.svg
 * bench/load/results/*.json`.
 *
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { MARGIN, PANEL_W, decadesAround, escapeXml, logYGrid, panelOpen } from '../chart.js'
import type { LatencySummary } from './histogram.js'
import type { LoadReport } from './load-report.js'

const PANEL_H = 300
/** Height of the title lines above the panels. */
const TOP = 48

type LatencyName = 'pushRoundTrip' | 'recordToAck' | 'liveDelivery'

const PANELS: readonly {
  readonly name: LatencyName
  readonly title: string
  readonly colour: string
}[] = [
  { name: 'pushRoundTrip', title: 'push round trip (per call)', colour: '#1f5fbf' },
  { name: 'recordToAck', title: 'record → ack (per event)', colour: '#0a9d8f' },
  { name: 'liveDelivery', title: 'live delivery (record → other store)', colour: '#c23b22' },
]

function niceMax(n: number): number {
  const step = 10 ** Math.floor(Math.log10(Math.max(1, n)))
  return Math.ceil(n / step) * step
}

function panel(
  x0: number,
  title: string,
  colour: string,
  runs: readonly { clients: number; summary: LatencySummary; failed: boolean }[],
): string {
  const values = runs
    .flatMap((r) => [r.summary.p50, r.summary.p99])
    .filter((v): v is number => v !== null && v > 0)
  const parts = panelOpen(x0, TOP, title, PANEL_H, values.length > 0)
  if (values.length === 0) return parts.join('\n')
  const w = PANEL_W - MARGIN.left - MARGIN.right
  const h = PANEL_H - MARGIN.top - MARGIN.bottom
  const xMax = niceMax(Math.max(...runs.map((r) => r.clients)))
  const ys = decadesAround(Math.min(...values), Math.max(...values))
  const [yMin, yMax] = [Math.log10(ys[0] as number), Math.log10(ys.at(-1) as number)]
  const px = (clients: number): number => MARGIN.left + (clients / xMax) * w
  const py = (ms: number): number =>
    MARGIN.top + h - (yMax === yMin ? h / 2 : ((Math.log10(ms) - yMin) / (yMax - yMin)) * h)
  parts.push(...logYGrid(ys, py, w, h, (ms) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`)))
  for (let i = 0; i <= 4; i++) {
    const clients = (xMax * i) / 4
    const xx = px(clients).toFixed(1)
    parts.push(
      `<line x1="${xx}" x2="${xx}" y1="${MARGIN.top}" y2="${MARGIN.top + h}" stroke="#eeeeee"/>`,
      `<text x="${xx}" y="${MARGIN.top + h + 16}" text-anchor="middle" font-size="11">${clients}</text>`,
    )
  }
  parts.push(
    `<text x="${MARGIN.left + w / 2}" y="${PANEL_H - 8}" text-anchor="middle" font-size="12">live clients</text>`,
  )
  for (const [key, dash] of [
    ['p50', ''],
    ['p99', ' stroke-dasharray="6 4"'],
  ] as const) {
    const points = runs.filter((r) => (r.summary[key] ?? 0) > 0)
    const coords = points.map(
      (r) => `${px(r.clients).toFixed(1)},${py(r.summary[key] as number).toFixed(1)}`,
    )
    if (coords.length > 1) {
      parts.push(
        `<polyline points="${coords.join(' ')}" fill="none" stroke="${colour}" stroke-width="2.5"${dash}/>`,
      )
    }
    for (const r of points) {
      const value = r.summary[key] as number
      parts.push(
        `<circle cx="${px(r.clients).toFixed(1)}" cy="${py(value).toFixed(1)}" r="4" fill="${r.failed ? '#ffffff' : colour}" stroke="${colour}" stroke-width="1.5"><title>${escapeXml(`${key} ${value} ms at ${r.clients} clients${r.failed ? ' (check failed)' : ''}`)}</title></circle>`,
      )
    }
  }
  parts.push('</g>')
  return parts.join('\n')
}

/** Why a run failed, in a few words. */
function failureOf(report: LoadReport): string {
  const { settle, latencyMs } = report
  if (settle.settled) return report.check.failures[0]?.slice(0, 60) ?? 'failed'
  const when =
    settle.afterWritersStopMs === null
      ? 'never settled'
      : `settled ${Math.round(settle.afterWritersStopMs / 1000)} s after the writers stopped`
  const censored = latencyMs.censored.liveDelivery + latencyMs.censored.recordToAck
  return censored > 0 ? `${when}; percentiles are lower bounds` : when
}

/**
 * Draws latency against clients from several load reports.
 * @param reports - the reports, one per client count.
 * @returns the SVG document.
 * @example
 * ```ts
 * import { renderLoadChart } from './load-chart.js'
 *
 * await writeFile('bench/load/load-latency.svg', renderLoadChart([run10, run50, run100]))
 * ```
 */
export function renderLoadChart(reports: readonly LoadReport[]): string {
  const sorted = [...reports].sort((a, b) => a.options.clients - b.options.clients)
  const width = PANEL_W * PANELS.length
  const height = TOP + PANEL_H + 64
  const first = sorted[0]
  const rates = [
    ...new Set(
      sorted.map((r) => `${r.options.rate} events/s per client for ${r.options.durationS} s`),
    ),
  ]
  const failed = sorted.filter((r) => !r.check.passed)
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">npm run load: latency against live clients, one sync-kit serve on SQLite</text>`,
    `<text x="12" y="40" font-size="12" fill="#333333">${escapeXml(
      `${rates.join('; ')}; ${first?.machine.date.slice(0, 10) ?? ''}, ${first?.machine.cpus ?? '?'} shared cores (load average in docs/benchmarks.md)`,
    )}</text>`,
  ]
  PANELS.forEach((p, i) => {
    parts.push(
      panel(
        i * PANEL_W,
        p.title,
        p.colour,
        sorted.map((r) => ({
          clients: r.options.clients,
          summary: r.latencyMs[p.name],
          failed: !r.check.passed,
        })),
      ),
    )
  })
  const footer = [
    'Solid: p50, dashed: p99 (log scale). Lower is better.',
    failed.length === 0
      ? 'Every run passed the exactly-once check and settled in time.'
      : `Hollow markers: runs that failed the check (${failed.map((r) => `${r.options.clients} clients: ${failureOf(r)}`).join('; ')}).`,
  ]
  footer.forEach((line, i) => {
    parts.push(
      `<text x="20" y="${TOP + PANEL_H + 22 + i * 18}" font-size="12" fill="#555555">${escapeXml(line)}</text>`,
    )
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { out: { type: 'string', default: 'bench/load/load-latency.svg' } },
    allowPositionals: true,
    strict: true,
  })
  if (positionals.length === 0) throw new Error('usage: load-chart.ts --out FILE report.json…')
  const reports = await Promise.all(
    positionals.map(async (file) => JSON.parse(await readFile(file, 'utf8')) as LoadReport),
  )
  await writeFile(values.out, renderLoadChart(reports))
  process.stderr.write(`[load-chart] ${values.out} from ${reports.length} reports\n`)
}

// Run as a script (not when a test imports renderLoadChart).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main()
}
