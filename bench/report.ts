/**
 * Turns measured groups into the table `npm run bench` prints and `bench/results.json` holds:
 * one row per (operation, baseline or peer), with sync-kit's median, the other's median and the
 * ratio.
 *
 * @module
 */
import type { ContenderResult, GroupResult } from './harness.js'
import type { SampleStats } from './stats.js'

/** One row of the results table. */
export interface TableRow {
  /** Section of the issue (1 memory, 2 SQLite, 3 end-to-end, 4 scaling, 5 heap, 6 size). */
  readonly section: number
  /** Group id, e.g. `memory.append.batch`. */
  readonly id: string
  /** The operation. */
  readonly operation: string
  /** sync-kit's figure, formatted (median ± spread). */
  readonly syncKit: string
  /** The baseline or peer, e.g. `array + Map (baseline)`. */
  readonly versus: string
  /** Its figure, formatted; or `not measured: …`. */
  readonly other: string
  /**
   * The other's median time divided by sync-kit's (above 1: sync-kit is faster), formatted as
   * `0.42×`; for sizes and heap, the row says what the number is.
   */
  readonly ratio: string
  /** The ratio as a number, when there is one. */
  readonly ratioValue?: number
  /** What the other contender does differently, when it cannot do exactly the same thing. */
  readonly note?: string
}

/**
 * Formats a duration given in milliseconds with a readable unit.
 * @param ms - the duration in milliseconds.
 * @returns e.g. `812 ns`, `3.4 µs`, `12.5 ms`, `2.31 s`.
 * @example
 * ```ts
 * import { formatMs } from './report.js'
 *
 * formatMs(0.0034) // '3.40 µs'
 * ```
 */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : ms >= 10 ? 1 : 2)} ms`
  const us = ms * 1000
  if (us >= 1) return `${us.toFixed(us >= 100 ? 0 : us >= 10 ? 1 : 2)} µs`
  return `${(us * 1000).toFixed(0)} ns`
}

/**
 * Formats a median with its spread (median absolute deviation as a percentage of the median).
 * @param stats - the summary.
 * @returns e.g. `12.5 ms ±3%`.
 * @example
 * ```ts
 * import { formatStats } from './report.js'
 *
 * formatStats({ samples: 3, median: 10, mad: 1, min: 9, max: 12 }) // '10.0 ms ±10%'
 * ```
 */
export function formatStats(stats: SampleStats): string {
  const spread = stats.median > 0 ? (stats.mad / stats.median) * 100 : 0
  return `${formatMs(stats.median)} ±${spread < 10 ? spread.toFixed(1) : spread.toFixed(0)}%`
}

/**
 * Formats a ratio: `1.85×`.
 * @param value - the ratio.
 * @returns the formatted ratio.
 * @example
 * ```ts
 * import { formatRatio } from './report.js'
 *
 * formatRatio(0.456) // '0.46×'
 * ```
 */
export function formatRatio(value: number): string {
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`
}

function describe(result: ContenderResult): string {
  if (result.stats !== undefined) return formatStats(result.stats)
  if (result.notMeasured !== undefined) return `not measured: ${result.notMeasured}`
  return `FAILED: ${result.error ?? 'unknown error'}`
}

function label(result: ContenderResult): string {
  return result.kind === 'baseline' ? `${result.name} (baseline)` : result.name
}

/**
 * Builds the table rows of measured groups.
 * @param groups - the groups, in run order.
 * @returns one row per baseline or peer of each group (a group without any gets one row).
 * @example
 * ```ts
 * import { tableRows } from './report.js'
 *
 * const rows = tableRows(results.groups)
 * ```
 */
export function tableRows(groups: readonly GroupResult[]): TableRow[] {
  const rows: TableRow[] = []
  for (const group of groups) {
    const syncKit = describe(group.syncKit)
    const others = group.others.length > 0 ? group.others : [undefined]
    for (const other of others) {
      const base = {
        section: group.section,
        id: group.id,
        operation: group.operation,
        syncKit,
      }
      if (other === undefined) {
        rows.push({ ...base, versus: '—', other: '—', ratio: '—' })
        continue
      }
      rows.push({
        ...base,
        versus: label(other),
        other: describe(other),
        ratio: other.ratio === undefined ? '—' : formatRatio(other.ratio),
        ...(other.ratio === undefined ? {} : { ratioValue: other.ratio }),
        ...(other.note === undefined ? {} : { note: other.note }),
      })
    }
  }
  return rows
}

/**
 * Renders rows as a fixed-width text table; long cells (reasons for "not measured") wrap onto
 * their own line below the row.
 * @param rows - the rows.
 * @returns the table, lines joined with `\n`.
 * @example
 * ```ts
 * import { renderTable, tableRows } from './report.js'
 *
 * console.log(renderTable(tableRows(results.groups)))
 * ```
 */
export function renderTable(rows: readonly TableRow[]): string {
  const MAX_OTHER = 26
  const header = ['§', 'operation', 'sync-kit', 'vs', 'baseline/peer', 'ratio']
  const cells = rows.map((row) => {
    const long = row.other.length > MAX_OTHER
    return {
      cols: [
        String(row.section),
        row.operation,
        row.syncKit,
        row.versus,
        long ? row.other.slice(0, row.other.indexOf(':') + 1) || 'see below' : row.other,
        row.ratio,
      ],
      extra: long ? `      ${row.versus}: ${row.other}` : undefined,
    }
  })
  const widths = header.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => (c.cols[i] as string).length)),
  )
  const line = (cols: readonly string[]): string =>
    cols
      .map((col, i) =>
        i === 5 ? col.padStart(widths[i] as number) : col.padEnd(widths[i] as number),
      )
      .join('  ')
      .trimEnd()
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')]
  let previous = ''
  for (const cell of cells) {
    const cols = [...cell.cols]
    // Repeat neither the section nor the operation on consecutive rows of one group.
    const key = `${cols[0]}|${cols[1]}|${cols[2]}`
    if (key === previous) {
      cols[0] = ''
      cols[1] = ''
      cols[2] = ''
    }
    previous = key
    out.push(line(cols))
    if (cell.extra !== undefined) out.push(cell.extra)
  }
  return out.join('\n')
}
