/**
 * The issue's targets and where sync-kit stands against them: what we steer by, computed from the
 * measurements, never edited by hand.
 *
 * @module
 */
import type { ContenderResult, GroupResult } from './harness.js'
import { formatMs, formatRatio } from './report.js'
import { CORE_TARGET_BYTES, type SizeResult } from './sections/bundle-size.js'
import type { HeapResult } from './sections/heap.js'
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
  /** Section 5. */
  readonly heap?: HeapResult | undefined
}

/** Most a shared baseline's time may differ between two groups that run it on the same events. */
export const BASELINE_AGREEMENT_MAX = 1.25

function other(
  group: GroupResult | undefined,
  name: string,
): (ContenderResult & { ratio?: number }) | undefined {
  // Peers carry their version in the name (`logux 0.12.1`): a name ending in a space matches it.
  return group?.others.find((o) => (name.endsWith(' ') ? o.name.startsWith(name) : o.name === name))
}

/**
 * The check that one baseline takes one time: every baseline definition run by several groups on
 * the same events must take the same time in each (within {@link BASELINE_AGREEMENT_MAX}), or
 * the ratios against it are not comparable (issue 14: one group's identical loop ran 2.4× slower).
 * @param groups - the measured groups.
 * @returns one target per definition shown by two groups or more.
 */
export function baselineChecks(groups: readonly GroupResult[]): TargetResult[] {
  const byKey = new Map<string, { group: string; median: number }[]>()
  for (const group of groups) {
    for (const o of group.others) {
      if (o.kind !== 'baseline' || o.definition === undefined || o.stats === undefined) continue
      const key = `${o.definition} on ${group.n.toLocaleString('en-US')} events`
      const list = byKey.get(key) ?? []
      list.push({ group: group.id, median: o.stats.median })
      byKey.set(key, list)
    }
  }
  const out: TargetResult[] = []
  for (const [key, list] of byKey) {
    if (list.length < 2) continue
    const medians = list.map((l) => l.median)
    const spread = Math.max(...medians) / Math.min(...medians)
    out.push({
      target: `one baseline, one time: ${key} agrees across groups (≤ ${BASELINE_AGREEMENT_MAX}× apart)`,
      measured: `${list.map((l) => `${l.group} ${formatMs(l.median)}`).join(', ')}: ${formatRatio(spread)} apart`,
      status: spread <= BASELINE_AGREEMENT_MAX ? 'met' : 'missed',
    })
  }
  return out
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
      'memory-store append ≥ 0.5× the awaited loop (one call per event)',
      byId('memory.append.single'),
      'array + Map, await per event',
      0.5,
    ),
  ]
  // Page loads against logux, on the log logux is measured on.
  for (const [prefix, what] of [
    ['memory.load.all.', 'all events in pages'],
    ['memory.load.middle.', 'a page from the middle'],
  ] as const) {
    out.push(
      ratioTarget(
        `memory-store page loads ≥ 1× logux (${what})`,
        groups.find((g) => g.id.startsWith(prefix) && other(g, 'logux ')?.ratio !== undefined),
        'logux ',
        1,
      ),
    )
  }
  const heap = inputs.heap
  out.push({
    target: 'heap per stored event ≤ 1.5× the plain array of the same objects',
    measured:
      heap === undefined || heap.notMeasured !== undefined
        ? 'not measured in this run'
        : `${heap.storeBytesPerEvent} B against ${heap.plainArrayBytesPerEvent} B: ${formatRatio(heap.storeToPlainArray)} (${heap.n.toLocaleString('en-US')} events)`,
    status:
      heap === undefined || heap.notMeasured !== undefined
        ? 'not measured'
        : heap.storeToPlainArray <= 1.5
          ? 'met'
          : 'missed',
  })
  out.push(
    ratioTarget(
      'loopback sync of the whole trace ≥ 0.7× the bare pipeline',
      byId('e2e.loopback'),
      'JSON round trip + Map dedupe + array',
      0.7,
    ),
  )
  for (const group of groups.filter((g) => g.id.startsWith('e2e.http.push.'))) {
    out.push(
      ratioTarget(
        `HTTP push ≥ 0.7× the bare fetch → node:http → better-sqlite3 pipeline (${group.id.slice('e2e.http.push.'.length)} clients)`,
        group,
        'fetch POST + node:http + raw better-sqlite3',
        0.7,
      ),
    )
  }
  out.push(...baselineChecks(groups))

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
  for (const app of size?.apps ?? []) {
    const { targetBytes } = app
    if (targetBytes !== undefined) {
      out.push({
        target: `${app.entry} < ${targetBytes / 1000} kB min+gzip`,
        measured: `${app.gzipBytes} B`,
        status: app.gzipBytes < targetBytes ? 'met' : 'missed',
      })
    }
    out.push({
      target: `${app.entry} smaller than ${app.logux.name}`,
      measured:
        app.logux.gzipBytes === undefined
          ? `not measured: ${app.logux.notMeasured ?? 'unknown'}`
          : `${app.gzipBytes} B against ${app.logux.gzipBytes} B`,
      status:
        app.logux.gzipBytes === undefined
          ? 'not measured'
          : app.gzipBytes < app.logux.gzipBytes
            ? 'met'
            : 'missed',
    })
  }
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
