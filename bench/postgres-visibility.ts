/**
 * What keeping late commits from being skipped costs the PostgreSQL store's appends, with several
 * concurrent writers (docs/stores.md, "Visibility"). Each writer stands in for a server instance:
 * a store on a pool of its own, appending batches in a loop for a fixed time, all on one log,
 * while a reader on a pool of its own pages after them and measures how late it sees each event.
 *
 * Contenders: the store (appends serialised by the append lock, with its duplicate check) and raw
 * `pg` inserts of the same rows on the same table, with no lock and no duplicate check (what
 * PostgreSQL does with no protection at all, and a reader could then skip late commits). The
 * `xmin` strategy the store was measured against existed up to commit 66b901e (its numbers are in
 * docs/stores.md).
 *
 * Usage: `SYNC_KIT_TEST_PG=postgres://… node --import tsx bench/postgres-visibility.ts
 * [--seconds 2] [--rounds 3] [--writers 1,4,16] [--batch 1,50] [--contenders store,raw-insert]`.
 * Prints a Markdown table (the median round of each contender) to stdout, progress to stderr.
 * Creates and drops a database of its own.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import pg from 'pg'

import { resolveNames } from '../src/stores/postgres/postgres-names.js'
import { createPostgresStore } from '../src/stores/postgres/postgres-store.js'
import type { EventWithVersion, Event, Version } from '../src/types/index.js'
import { rawInsert } from './sections/postgres-store.js'

type Contender = 'store' | 'raw-insert'

/** One measured configuration. */
interface Row {
  readonly contender: Contender
  readonly writers: number
  readonly batch: number
  readonly eventsPerSecond: number
  readonly commitsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** p99 of acknowledged → served: from `storeBatch` resolving to a polling reader loading it. */
  readonly lagP99Ms: number
}

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    writers: { type: 'string', default: '1,4,16' },
    batch: { type: 'string', default: '1,50' },
    contenders: { type: 'string', default: 'store,raw-insert' },
  },
})

const url = process.env['SYNC_KIT_TEST_PG']
if (url === undefined || url === '') {
  console.error('set SYNC_KIT_TEST_PG (eval "$(scripts/start-postgres.sh)")')
  process.exit(2)
}

const seconds = Number(args.seconds)
const rounds = Number(args.rounds)
const writerCounts = args.writers.split(',').map(Number)
const batchSizes = args.batch.split(',').map(Number)
const contenders = args.contenders.split(',') as Contender[]

const database = `sync_kit_bench_${Date.now()}_${randomBytes(3).toString('hex')}`
const admin = new pg.Client({ connectionString: url })
await admin.connect()
await admin.query(`CREATE DATABASE "${database}"`)
const dbUrl = new URL(url)
dbUrl.pathname = `/${database}`

let schemas = 0
const rows: Row[] = []
try {
  for (const batch of batchSizes) {
    for (const writers of writerCounts) {
      // Contenders take turns, round after round, and each reports its median round: the
      // machine's background load then hits them alike.
      const runs = new Map<Contender, Row[]>(contenders.map((c) => [c, []]))
      for (let round = 0; round < rounds; round++) {
        for (const contender of contenders) {
          runs.get(contender)?.push(await measure(contender, writers, batch))
        }
      }
      for (const contender of contenders) {
        const sorted = [...(runs.get(contender) ?? [])].sort(
          (a, b) => a.eventsPerSecond - b.eventsPerSecond,
        )
        const row = sorted[Math.floor(sorted.length / 2)] as Row
        rows.push(row)
        console.error(
          `${contender.padEnd(12)} writers ${String(writers).padStart(2)} batch ${String(batch).padStart(3)}: ` +
            `${Math.round(row.eventsPerSecond)} events/s (rounds: ${sorted.map((r) => Math.round(r.eventsPerSecond)).join(', ')}), ` +
            `p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, read lag p99 ${row.lagP99Ms.toFixed(2)} ms`,
        )
      }
    }
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)
  await admin.end()
}

console.log(
  '| contender | writers | batch | events/s | commits/s | append p50 ms | append p99 ms | read lag p99 ms |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const r of rows) {
  console.log(
    `| ${r.contender} | ${r.writers} | ${r.batch} | ${Math.round(r.eventsPerSecond)} | ${Math.round(r.commitsPerSecond)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.lagP99Ms.toFixed(2)} |`,
  )
}

async function measure(contender: Contender, writers: number, batch: number): Promise<Row> {
  const schema = `b${++schemas}`
  const pools = Array.from({ length: writers }, () => {
    const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 1 })
    pool.on('error', () => undefined)
    return pool
  })
  const stores = []
  for (const pool of pools) stores.push(await createPostgresStore({ pool, schema }))
  const names = resolveNames(schema, undefined)
  const readerPool = new pg.Pool({ connectionString: dbUrl.toString(), max: 1 })
  const reader = await createPostgresStore({ pool: readerPool, schema })
  const acknowledged = new Map<string, number>()
  const lags: number[] = []
  let writing = true
  const polling = (async () => {
    let since: Version | null = null
    const pending = new Map<string, number>()
    while (writing || pending.size > 0 || since === null) {
      const page: EventWithVersion[] = await reader.load(since, { limit: 5000 })
      const now = performance.now()
      for (const record of page) pending.set(record.event.id, now)
      for (const [id, seenAt] of pending) {
        const ackAt = acknowledged.get(id)
        if (ackAt === undefined) continue
        lags.push(Math.max(0, seenAt - ackAt))
        pending.delete(id)
      }
      const last = page.at(-1)
      if (last !== undefined) since = last.version
      else if (!writing) break
      if (page.length === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    }
  })()
  const latencies: number[] = []
  let commits = 0
  let next = 0
  const deadline = performance.now() + seconds * 1000
  const makeBatch = (): Event[] =>
    Array.from({ length: batch }, () => {
      const n = next++
      return {
        id: `e${n}`,
        type: 'Bench',
        aggregateId: `agg-${n % 97}`,
        data: { n, title: 'a small payload' },
        metadata: { tenant: 't1' },
      }
    })
  await Promise.all(
    stores.map(async (store, w) => {
      const pool = pools[w] as pg.Pool
      while (performance.now() < deadline) {
        const events = makeBatch()
        const started = performance.now()
        if (contender === 'raw-insert') {
          await rawInsert(pool, names.events, names.sequence, events)
        } else await store.storeBatch(events)
        const done = performance.now()
        latencies.push(done - started)
        for (const event of events) acknowledged.set(event.id, done)
        commits++
      }
    }),
  )
  const elapsed = seconds
  writing = false
  await polling
  await reader.close()
  await readerPool.end()
  for (const store of stores) await store.close()
  await Promise.all(pools.map((p) => p.end()))
  latencies.sort((a, b) => a - b)
  lags.sort((a, b) => a - b)
  const quantile = (list: readonly number[], q: number): number =>
    list[Math.min(list.length - 1, Math.floor(q * list.length))] ?? 0
  const at = (q: number): number => quantile(latencies, q)
  return {
    contender,
    writers,
    batch,
    eventsPerSecond: (commits * batch) / elapsed,
    commitsPerSecond: commits / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    lagP99Ms: quantile(lags, 0.99),
  }
}
