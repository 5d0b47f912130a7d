/**
 * Section 4: how the cost per operation grows with the log. For logs of 10k, 100k and 1M events
 * (the trace repeated with new ids; 100 events per aggregate, so an aggregate lookup returns the
 * same 100 events at every size), it measures: append time per event (batches of 1,000; emmett one
 * `appendToStream` per aggregate), `load(since)` of one page of 1,000 from the middle, a lookup of
 * one aggregate, and heap bytes per stored event of the in-memory logs.
 *
 * `load(since)` and the aggregate lookup must not grow faster than log n: the memory store finds
 * the start position in O(1) and an aggregate's positions in O(1) + O(page); SQLite walks a
 * B-tree (O(log n)).
 *
 * @module
 */
import type Database from 'better-sqlite3'

import { type Event, type MemoryStore, createMemoryStore } from '../../src/index.js'
import type { SqliteStore } from '../../src/stores/sqlite/index.js'
import { type BenchContext, count, skipped } from '../context.js'
import {
  type Group,
  type GroupResult,
  type SamplingOptions,
  collectGarbage,
  measureGroup,
} from '../harness.js'
import {
  type EmmettEventStore,
  type EmmettModule,
  type EmmettSqliteModule,
  type LoguxModule,
  emmettEvent,
  isLoaded,
  loadEmmett,
  loadEmmettSqlite,
  loadLogux,
  loguxEntry,
} from '../peers.js'
import { type TableRow, formatMs, tableRows } from '../report.js'
import { chunks, traceEvents } from '../trace-events.js'
import {
  type RawSqliteLog,
  freshDbPath,
  openRawLog,
  openSyncKitSqlite,
  removeDb,
  sqliteAppendContenders,
} from './sqlite-store.js'

/** Events per aggregate at every size. */
export const EVENTS_PER_AGGREGATE = 100
/** Page of the `load(since)` measurement. */
export const SCALING_PAGE = 1_000

/** The operations the chart plots. */
export type ScalingOp = 'append' | 'load-since' | 'aggregate'

/** One point of a series: a contender's median at one log size. */
export interface ScalingPoint {
  /** Log size. */
  readonly n: number
  /** Median time in ms: per event for `append`, per call otherwise. */
  readonly ms: number
}

/** One line of the chart. */
export interface ScalingSeries {
  /** Which operation. */
  readonly op: ScalingOp
  /** Contender name. */
  readonly name: string
  /** sync-kit, baseline or peer. */
  readonly kind: 'sync-kit' | 'baseline' | 'peer'
  /** The points, by size. */
  readonly points: readonly ScalingPoint[]
}

/** Heap bytes per stored event of one in-memory log at one size. */
export interface HeapPoint {
  /** Contender name. */
  readonly name: string
  /** Log size. */
  readonly n: number
  /** Heap growth divided by the number of events, after a full GC. */
  readonly bytesPerEvent: number
}

/** What section 4 measured. */
export interface ScalingResult {
  /** The log sizes. */
  readonly sizes: readonly number[]
  /** Every measured (operation, size) group. */
  readonly groups: readonly GroupResult[]
  /** The chart's lines. */
  readonly series: readonly ScalingSeries[]
  /** Heap bytes per event. */
  readonly heap: readonly HeapPoint[]
  /** The rows for the table. */
  readonly table: readonly TableRow[]
  /** Failed benchmarks. */
  readonly failures: readonly string[]
}

function tierOf(name: string): 'memory' | 'sqlite' {
  return /sqlite/i.test(name) ? 'sqlite' : 'memory'
}

function opOf(id: string): ScalingOp {
  return id.includes('.append.')
    ? 'append'
    : id.includes('.load-since.')
      ? 'load-since'
      : 'aggregate'
}

function heapUsed(): number {
  collectGarbage()
  collectGarbage()
  return process.memoryUsage().heapUsed
}

interface Filled {
  readonly memory: MemoryStore
  readonly array: { events: Event[]; byAggregate: Map<string, Event[]> }
  readonly sqlite: SqliteStore
  readonly raw: RawSqliteLog
  readonly rawByAggregate: Database.Statement
  readonly emmett?: EmmettEventStore
  readonly logux?: InstanceType<LoguxModule['MemoryStore']>
  readonly emmettSqlite?: EmmettEventStore
  readonly paths: string[]
}

/**
 * Runs section 4.
 * @param ctx - the run's context.
 * @returns the groups, chart series, heap points and table rows.
 * @example
 * ```ts
 * import { runScalingSection } from './sections/scaling.js'
 *
 * const scaling = await runScalingSection(ctx)
 * ```
 */
export async function runScalingSection(ctx: BenchContext): Promise<ScalingResult> {
  const { plan } = ctx
  const logux = await loadLogux()
  const emmett = await loadEmmett()
  const emmettSqlite = await loadEmmettSqlite()
  const groups: GroupResult[] = []
  const heap: HeapPoint[] = []
  const cap = plan.quadraticCap
  const macro = (n: number): SamplingOptions => ({
    mode: 'macro',
    rounds: plan.mode === 'quick' ? 1 : n >= 1_000_000 ? 1 : n >= 100_000 ? 2 : 3,
    warmups: n >= 100_000 ? 0 : 1,
    ...(plan.macro.gc === undefined ? {} : { gc: plan.macro.gc }),
  })

  for (const n of plan.scalingSizes) {
    const events = traceEvents(ctx.trace, {
      count: n,
      aggregates: { layout: 'blocks', count: n / EVENTS_PER_AGGREGATE },
      idPrefix: `s${n}-`,
    })
    const batches = chunks(events, 1_000)
    const byAggregate = chunks(events, EVENTS_PER_AGGREGATE)
    const small = n <= cap
    // Each operation runs as two groups, each against sync-kit's store of the same kind: the
    // in-memory logs against the memory store, the SQLite ones against the SQLite store.
    const run = async (group: Group, sampling: SamplingOptions): Promise<void> => {
      for (const tier of ['memory', 'sqlite'] as const) {
        const contenders = group.contenders.filter((c) => tierOf(c.name) === tier)
        const tiered: Group = {
          ...group,
          id: group.id.replace('scaling.', `scaling.${tier}.`),
          operation: `${tier === 'memory' ? 'in memory' : 'SQLite'}: ${group.operation}`,
          contenders,
        }
        ctx.log(`[bench] 4 scaling: ${tiered.operation}`)
        groups.push(await measureGroup(tiered, sampling))
      }
    }

    // ---- append ---------------------------------------------------------------------------------
    {
      let memory: MemoryStore = createMemoryStore()
      let array: Event[] = []
      let arrayIds = new Map<string, number>()
      let es: EmmettEventStore | undefined
      let ls: InstanceType<LoguxModule['MemoryStore']> | undefined
      let loguxInput: ReturnType<typeof loguxEntry>[][] = []
      const contenders: Group['contenders'][number][] = [
        {
          name: 'sync-kit memory',
          kind: 'sync-kit',
          before: () => {
            memory = createMemoryStore()
          },
          run: async () => {
            for (const batch of batches) await memory.storeBatch(batch)
            return memory.size
          },
        },
        {
          name: 'array + Map',
          kind: 'baseline',
          sync: true,
          before: () => {
            array = []
            arrayIds = new Map()
          },
          run: () => {
            for (const batch of batches) {
              for (const event of batch) {
                arrayIds.set(event.id, array.length)
                array.push(event)
              }
            }
            return array.length
          },
        },
        ...sqliteAppendContenders(ctx, batches, {
          syncKit: 'sync-kit SQLite',
          syncKitNote: 'sync-kit’s own SQLite store, for the chart',
          filePrefix: 'scale-',
        }),
      ]
      if (isLoaded(emmett)) {
        const input = byAggregate.map((run) => run.map(emmettEvent))
        contenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'in-memory; appendToStream per aggregate (100 events)',
          before: () => {
            es = emmett.module.getInMemoryEventStore()
          },
          run: async () => {
            let total = 0
            for (let i = 0; i < input.length; i++) {
              const batch = input[i] as ReturnType<typeof emmettEvent>[]
              await (es as EmmettEventStore).appendToStream(`doc-${i}`, batch)
              total += batch.length
            }
            return total
          },
        })
      } else contenders.push(skipped(emmett.name, 'peer', emmett.reason))
      if (isLoaded(logux)) {
        if (small) {
          contenders.push({
            name: logux.name,
            kind: 'peer',
            note: 'MemoryStore.add(batch)',
            before: () => {
              ls = new logux.module.MemoryStore()
              loguxInput = batches.map((batch, b) =>
                batch.map((e, i) => loguxEntry(e, b * 1_000 + i, true)),
              )
            },
            run: async () => {
              let added = 0
              for (const batch of loguxInput) {
                for (const meta of await (ls as NonNullable<typeof ls>).add(batch))
                  if (meta !== false) added++
              }
              return added
            },
          })
        } else
          contenders.push(
            skipped(logux.name, 'peer', `O(n²) insert: measured up to ${count(cap)} events`),
          )
      } else contenders.push(skipped(logux.name, 'peer', logux.reason))
      if (isLoaded(emmettSqlite)) {
        if (small) {
          let epath = ''
          const input = byAggregate.map((run) => run.map(emmettEvent))
          contenders.push({
            name: emmettSqlite.name,
            kind: 'peer',
            note: 'appendToStream per aggregate (100 events)',
            before: () => {
              epath = freshDbPath(ctx, 'scale-emmett')
              es = emmettSqlite.module.getSQLiteEventStore({
                fileName: epath,
                schema: { autoMigration: 'CreateOrUpdate' },
              })
            },
            run: async () => {
              let total = 0
              for (let i = 0; i < input.length; i++) {
                const batch = input[i] as ReturnType<typeof emmettEvent>[]
                await (es as EmmettEventStore).appendToStream(`doc-${i}`, batch)
                total += batch.length
              }
              return total
            },
            after: () => removeDb(epath),
          })
        } else {
          contenders.push(
            skipped(
              emmettSqlite.name,
              'peer',
              `~100 µs per event: measured up to ${count(cap)} events`,
            ),
          )
        }
      } else contenders.push(skipped(emmettSqlite.name, 'peer', emmettSqlite.reason))
      await run(
        {
          id: `scaling.append.${n}`,
          section: 4,
          operation: `append ${count(n)} events in batches (time per event in the chart)`,
          n,
          expect: n,
          contenders,
        },
        macro(n),
      )
      es = undefined
      ls = undefined
    }

    // ---- fill once, measure reads and heap ---------------------------------------------------------
    const filled = await fill(ctx, events, batches, byAggregate, {
      emmett: isLoaded(emmett) ? emmett.module : undefined,
      logux: isLoaded(logux) && small ? logux.module : undefined,
      emmettSqlite: isLoaded(emmettSqlite) && small ? emmettSqlite.module : undefined,
      heap: (name, bytes) => heap.push({ name, n, bytesPerEvent: bytes / n }),
    })
    try {
      const mid = Math.floor(n / 2)
      const since = filled.memory.parseVersion(String(mid))
      const loadContenders: Group['contenders'][number][] = [
        {
          name: 'sync-kit memory',
          kind: 'sync-kit',
          run: async () => (await filled.memory.load(since, { limit: SCALING_PAGE })).length,
        },
        {
          name: 'array + Map',
          kind: 'baseline',
          sync: true,
          run: () => filled.array.events.slice(mid, mid + SCALING_PAGE).length,
        },
        {
          name: 'sync-kit SQLite',
          kind: 'sync-kit',
          run: async () => (await filled.sqlite.load(since, { limit: SCALING_PAGE })).length,
        },
        {
          name: 'raw better-sqlite3',
          kind: 'baseline',
          sync: true,
          run: () => filled.raw.page(mid, SCALING_PAGE).length,
        },
        skipped(
          isLoaded(emmett) ? emmett.name : 'emmett',
          'peer',
          'the in-memory store reads one stream at a time: no global log to load from',
        ),
      ]
      const lx = filled.logux
      if (lx !== undefined && isLoaded(logux)) {
        loadContenders.push({
          name: logux.name,
          kind: 'peer',
          note: 'get() + slice: no since query',
          run: async () =>
            (await lx.get({ order: 'added' })).entries.slice(mid, mid + SCALING_PAGE).length,
        })
      }
      await run(
        {
          id: `scaling.load-since.${n}`,
          section: 4,
          operation: `load(since) ${count(SCALING_PAGE)} events from the middle of ${count(n)}`,
          n,
          expect: Math.min(SCALING_PAGE, n - mid),
          contenders: loadContenders,
        },
        plan.micro,
      )

      const aggregates = n / EVENTS_PER_AGGREGATE
      let k = 0
      const next = (): string => `doc-${(k = (k + 7919) % aggregates)}`
      const aggContenders: Group['contenders'][number][] = [
        {
          name: 'sync-kit memory',
          kind: 'sync-kit',
          run: async () => (await filled.memory.loadByAggregate(next(), null)).length,
        },
        {
          name: 'array + Map',
          kind: 'baseline',
          sync: true,
          run: () => filled.array.byAggregate.get(next())?.length ?? 0,
        },
        {
          name: 'sync-kit SQLite',
          kind: 'sync-kit',
          run: async () => (await filled.sqlite.loadByAggregate(next(), null)).length,
        },
        {
          name: 'raw better-sqlite3',
          kind: 'baseline',
          sync: true,
          note: 'SELECT … WHERE aggregate_id = ? ORDER BY seq, JSON.parse',
          run: () =>
            (filled.rawByAggregate.all(next()) as { data: string; metadata: string | null }[]).map(
              (row) => ({
                data: JSON.parse(row.data) as unknown,
                metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as unknown),
              }),
            ).length,
        },
      ]
      const es = filled.emmett
      if (es !== undefined && isLoaded(emmett)) {
        aggContenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'in-memory readStream(aggregate)',
          run: async () => (await es.readStream(next())).events.length,
        })
      }
      if (lx !== undefined && isLoaded(logux)) {
        aggContenders.push({
          name: logux.name,
          kind: 'peer',
          note: 'get({ index: aggregate })',
          run: async () => (await lx.get({ index: next() })).entries.length,
        })
      }
      const ess = filled.emmettSqlite
      if (ess !== undefined && isLoaded(emmettSqlite)) {
        aggContenders.push({
          name: emmettSqlite.name,
          kind: 'peer',
          note: 'readStream(aggregate)',
          run: async () => (await ess.readStream(next())).events.length,
        })
      }
      await run(
        {
          id: `scaling.aggregate.${n}`,
          section: 4,
          operation: `load one aggregate (${EVENTS_PER_AGGREGATE} events) from a log of ${count(n)}`,
          n,
          expect: EVENTS_PER_AGGREGATE,
          contenders: aggContenders,
        },
        plan.micro,
      )
    } finally {
      await filled.sqlite.close()
      filled.sqlite.database.close()
      filled.raw.db.close()
      for (const path of filled.paths) removeDb(path)
    }
  }

  const series = buildSeries(groups)
  const failures: string[] = []
  for (const group of groups) {
    for (const result of [group.syncKit, ...group.others]) {
      if (result.error !== undefined) failures.push(`${group.id} / ${result.name}: ${result.error}`)
    }
  }
  const heapRows: TableRow[] = plan.scalingSizes.map((n) => {
    const at = heap.filter((h) => h.n === n)
    const sk = at.find((h) => h.name === 'sync-kit memory')
    return {
      section: 4,
      id: `scaling.heap.${n}`,
      operation: `heap bytes per stored event, log of ${count(n)}`,
      syncKit: sk === undefined ? '—' : `${Math.round(sk.bytesPerEvent)} B`,
      versus: at
        .filter((h) => h !== sk)
        .map((h) => h.name)
        .join(' / '),
      other: at
        .filter((h) => h !== sk)
        .map((h) => `${Math.round(h.bytesPerEvent)} B`)
        .join(' / '),
      ratio: '—',
    }
  })
  return {
    sizes: plan.scalingSizes,
    groups,
    series,
    heap,
    table: [...tableRows(groups), ...heapRows],
    failures,
  }
}

async function fill(
  ctx: BenchContext,
  events: readonly Event[],
  batches: readonly (readonly Event[])[],
  byAggregate: readonly (readonly Event[])[],
  options: {
    readonly emmett: EmmettModule | undefined
    readonly logux: LoguxModule | undefined
    readonly emmettSqlite: EmmettSqliteModule | undefined
    readonly heap: (name: string, bytes: number) => void
  },
): Promise<Filled> {
  ctx.log(`[bench] 4 scaling: filling the logs of ${count(events.length)} events`)
  let before = heapUsed()
  const memory = createMemoryStore()
  for (const batch of batches) await memory.storeBatch(batch)
  let after = heapUsed()
  options.heap('sync-kit memory', after - before)

  before = after
  const array = { events: [] as Event[], byAggregate: new Map<string, Event[]>() }
  const ids = new Map<string, number>()
  for (const event of events) {
    ids.set(event.id, array.events.length)
    array.events.push(event)
    const list = array.byAggregate.get(event.aggregateId)
    if (list === undefined) array.byAggregate.set(event.aggregateId, [event])
    else list.push(event)
  }
  after = heapUsed()
  options.heap('array + Map (references)', after - before)

  let emmett: EmmettEventStore | undefined
  if (options.emmett !== undefined) {
    before = after
    emmett = options.emmett.getInMemoryEventStore()
    for (let i = 0; i < byAggregate.length; i++) {
      await emmett.appendToStream(`doc-${i}`, (byAggregate[i] as Event[]).map(emmettEvent))
    }
    after = heapUsed()
    options.heap('emmett (in-memory)', after - before)
  }
  let logux: InstanceType<LoguxModule['MemoryStore']> | undefined
  if (options.logux !== undefined) {
    before = after
    logux = new options.logux.MemoryStore()
    await logux.add(events.map((e, i) => loguxEntry(e, i, true)))
    after = heapUsed()
    options.heap('logux MemoryStore', after - before)
  }
  const sqlitePath = freshDbPath(ctx, 'scale-fill-sk')
  const sqlite = openSyncKitSqlite(sqlitePath)
  for (const batch of batches) await sqlite.storeBatch(batch)
  const rawPath = freshDbPath(ctx, 'scale-fill-raw')
  const raw = await openRawLog(rawPath)
  for (const batch of batches) raw.insertBatch(batch)
  const rawByAggregate = raw.db.prepare(
    'SELECT seq, id, type, aggregate_id, data, metadata FROM events WHERE aggregate_id = ? ORDER BY seq',
  )
  const paths = [sqlitePath, rawPath]
  let emmettSqlite: EmmettEventStore | undefined
  if (options.emmettSqlite !== undefined) {
    const path = freshDbPath(ctx, 'scale-fill-emmett')
    paths.push(path)
    emmettSqlite = options.emmettSqlite.getSQLiteEventStore({
      fileName: path,
      schema: { autoMigration: 'CreateOrUpdate' },
    })
    for (let i = 0; i < byAggregate.length; i++) {
      await emmettSqlite.appendToStream(`doc-${i}`, (byAggregate[i] as Event[]).map(emmettEvent))
    }
  }
  return {
    memory,
    array,
    sqlite,
    raw,
    rawByAggregate,
    ...(emmett === undefined ? {} : { emmett }),
    ...(logux === undefined ? {} : { logux }),
    ...(emmettSqlite === undefined ? {} : { emmettSqlite }),
    paths,
  }
}

function buildSeries(groups: readonly GroupResult[]): ScalingSeries[] {
  const series = new Map<string, ScalingSeries & { points: ScalingPoint[] }>()
  for (const group of groups) {
    const op = opOf(group.id)
    for (const result of [group.syncKit, ...group.others]) {
      if (result.stats === undefined) continue
      const key = `${op}|${result.name}`
      let entry = series.get(key)
      if (entry === undefined) {
        entry = { op, name: result.name, kind: result.kind, points: [] }
        series.set(key, entry)
      }
      const ms = op === 'append' ? result.stats.median / group.n : result.stats.median
      entry.points.push({ n: group.n, ms })
    }
  }
  return [...series.values()]
}

/**
 * Describes how a series grows from its smallest to its largest size, for the targets.
 * @param series - one line of the chart.
 * @returns e.g. `12.1 µs → 13.0 µs (1.07×)`, or `undefined` with fewer than two points.
 * @example
 * ```ts
 * import { growth } from './sections/scaling.js'
 *
 * growth({ op: 'load-since', name: 'x', kind: 'sync-kit', points: [{ n: 1, ms: 1 }, { n: 2, ms: 2 }] })
 * ```
 */
export function growth(series: ScalingSeries): { text: string; factor: number } | undefined {
  const first = series.points[0]
  const last = series.points.at(-1)
  if (first === undefined || last === undefined || first === last || first.ms <= 0) return undefined
  const factor = last.ms / first.ms
  return {
    text: `${formatMs(first.ms)} at ${count(first.n)} → ${formatMs(last.ms)} at ${count(last.n)} (${factor.toFixed(2)}×)`,
    factor,
  }
}
