/**
 * The targets and where sync-kit stands against them: what we steer by, computed from the
 * measurements, never edited by hand.
 *
 * @module
 */
import type { ContenderResult, GroupResult } from './harness.js'
import { formatRatio } from './report.js'
import { CORE_TARGET_BYTES, type SizeResult } from './sections/bundle-size.js'
import { type ScalingResult, growth } from './sections/scaling.js'

/** Largest growth from the smallest to the largest log that still counts as flat (log n). */
export const FLAT_GROWTH_MAX = 1.5

/** One target. */
export interface TargetResult {
  /** The target, as the issue states it. */
  readonly target: string
  /** What was measured. */
  readonly measured: string
  /** Met, missed, or not measured in this run. */
  readonly status: 'met' | 'missed' | 'not measured'
}

/** What the targets are computed from. */
export interface TargetInputs {
  /** Sections 1–3. */
  readonly groups: readonly GroupResult[]
  /** Section 4. */
  readonly scaling: ScalingResult | undefined
  /** Section 6. */
  readonly size: SizeResult | undefined
}

function other(
  group: GroupResult | undefined,
  name: string,
): (ContenderResult & { ratio?: number }) | undefined {
  return group?.others.find((o) => o.name === name)
}

function ratioTarget(
  target: string,
  group: GroupResult | undefined,
  versus: string,
  min: number,
): TargetResult {
  const o = other(group, versus)
  if (group === undefined || o?.ratio === undefined) {
    return { target, measured: 'not measured in this run', status: 'not measured' }
  }
  return {
    target,
    measured: `${formatRatio(o.ratio)} (${group.operation})`,
    status: o.ratio >= min ? 'met' : 'missed',
  }
}

/**
 * Evaluates the targets.
 * @param inputs - the measurements.
 * @returns one line per target.
 * @example
 * ```ts
 * import { evaluateTargets } from './targets.js'
 *
 * const targets = evaluateTargets({ groups, scaling, size })
 * ```
 */
export function evaluateTargets(inputs: TargetInputs): TargetResult[] {
  const { groups, scaling, size } = inputs
  const byId = (id: string): GroupResult | undefined => groups.find((g) => g.id === id)
  const out: TargetResult[] = [
    ratioTarget(
      'memory-store append ≥ 0.5× the array + Map baseline (batches)',
      byId('memory.append.batch'),
      'array + Map',
      0.5,
    ),
    ratioTarget(
      'memory-store append ≥ 0.5× the array + Map baseline (one call per event)',
      byId('memory.append.single'),
      'array + Map',
      0.5,
    ),
  ]

  // Every shared operation with a peer: sync-kit's store of the same kind must be faster.
  const misses: string[] = []
  let compared = 0
  const allGroups = [...groups, ...(scaling?.groups ?? [])]
  for (const group of allGroups) {
    const sqliteSelf = group.others.find((o) => o.name === 'sync-kit SQLite')
    for (const peer of group.others) {
      if (peer.kind !== 'peer' || peer.stats === undefined) continue
      const reference =
        peer.name.includes('sqlite') && sqliteSelf?.stats !== undefined ? sqliteSelf : group.syncKit
      if (reference.stats === undefined || reference.stats.median <= 0) continue
      compared++
      const r = peer.stats.median / reference.stats.median
      if (r <= 1) misses.push(`${group.id} vs ${peer.name}: ${formatRatio(r)}`)
    }
  }
  out.push({
    target: 'sync-kit faster than every peer on every shared operation',
    measured:
      compared === 0
        ? 'no peer measured in this run'
        : misses.length === 0
          ? `faster in all ${compared} comparisons`
          : `slower in ${misses.length} of ${compared}: ${misses.join('; ')}`,
    status: compared === 0 ? 'not measured' : misses.length === 0 ? 'met' : 'missed',
  })

  out.push(
    ratioTarget(
      'SQLite append ≥ 0.7× raw better-sqlite3',
      byId('sqlite.append.batch'),
      'raw better-sqlite3',
      0.7,
    ),
    ratioTarget(
      'PostgreSQL append ≥ 0.7× raw pg batch insert on the same schema',
      byId('postgres.append.batch'),
      'raw pg',
      0.7,
    ),
    ratioTarget(
      'PostgreSQL append ≥ 0.7× raw pg batch insert, 8 concurrent writers on one pool',
      byId('postgres.append.concurrent'),
      'raw pg',
      0.7,
    ),
    ratioTarget(
      'end-to-end HTTP sync ≥ 0.4× the baseline pipeline',
      byId('e2e.http'),
      'HTTP + raw better-sqlite3',
      0.4,
    ),
  )

  for (const [op, label] of [
    ['load-since', 'load(since)'],
    ['aggregate', 'aggregate lookup'],
  ] as const) {
    for (const name of ['sync-kit memory', 'sync-kit SQLite']) {
      const series = scaling?.series.find((s) => s.op === op && s.name === name)
      const g = series === undefined ? undefined : growth(series)
      out.push({
        target: `${label} flat from the smallest to the largest log (≤ ${FLAT_GROWTH_MAX}×: log n), ${name}`,
        measured: g === undefined ? 'not measured in this run' : g.text,
        status: g === undefined ? 'not measured' : g.factor <= FLAT_GROWTH_MAX ? 'met' : 'missed',
      })
    }
  }

  const core = size?.entries.find((e) => e.entry === 'sync-kit')
  out.push({
    target: `core entry < ${CORE_TARGET_BYTES / 1000} kB min+gzip`,
    measured: core === undefined ? 'not measured in this run' : `${core.gzipBytes} B`,
    status:
      core === undefined ? 'not measured' : core.gzipBytes < CORE_TARGET_BYTES ? 'met' : 'missed',
  })
  const types = size?.entries.find((e) => e.entry === 'sync-kit/types')
  out.push({
    target: 'sync-kit/types is 0 bytes of runtime code',
    measured: types === undefined ? 'not measured in this run' : `${types.minBytes} B`,
    status: types === undefined ? 'not measured' : types.minBytes === 0 ? 'met' : 'missed',
  })
  return out
}

/**
 * Renders the targets for the terminal.
 * @param targets - the evaluated targets.
 * @returns one line per target.
 * @example
 * ```ts
 * import { evaluateTargets, renderTargets } from './targets.js'
 *
 * console.log(renderTargets(evaluateTargets({ groups, scaling, size })))
 * ```
 */
export function renderTargets(targets: readonly TargetResult[]): string {
  const mark = { met: 'MET    ', missed: 'MISSED ', 'not measured': 'n/a    ' } as const
  return ['targets:', ...targets.map((t) => `  ${mark[t.status]} ${t.target}: ${t.measured}`)].join(
    '\n',
  )
}
