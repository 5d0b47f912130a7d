/**
 * Section 7: the PostgreSQL store's appends against raw `pg` batch inserts on the same schema,
 * on a real PostgreSQL server (`SYNC_KIT_TEST_PG`; without it the section is skipped with the way
 * to start one).
 *
 * The baseline is the least work the append needs: one multi-row `INSERT … SELECT nextval(…),
 * … FROM unnest(…)` per batch of the same events into the same table (sync-kit's store creates it
 * in a fresh schema per sample, with its indexes and its unique `id`), through the same pool, in
 * the same batch sizes and with the same number of concurrent writers. It takes no lock, checks
 * no duplicate and notifies nobody, so a reader of it could skip late commits (docs/stores.md,
 * "Visibility"); sync-kit's store does all three.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'

import pg from 'pg'

import type { Event } from '../../src/index.js'
import { createPostgresStore } from '../../src/stores/postgres/index.js'
import type { PostgresStore } from '../../src/stores/postgres/index.js'
import { type BenchContext, count } from '../context.js'
import { type Group, type GroupResult, measureGroup } from '../harness.js'
import { chunks, traceEvents } from '../trace-events.js'

/** Connections of the pool both contenders share (the default of `sync-kit serve`). */
export const POSTGRES_POOL_SIZE = 10

/** The appends measured: events, batch size, concurrent writers. */
interface AppendShape {
  readonly id: string
  readonly operation: string
  readonly events: number
  readonly batch: number
  readonly writers: number
}

/** Sizes per mode: full run, quick smoke run. */
function shapes(mode: 'full' | 'quick'): AppendShape[] {
  const quick = mode === 'quick'
  return [
    {
      id: 'postgres.append.batch',
      operation: 'batches of 100, one writer',
      events: quick ? 1_000 : 20_000,
      batch: 100,
      writers: 1,
    },
    {
      id: 'postgres.append.single',
      operation: 'one event per call, one writer',
      events: quick ? 100 : 1_000,
      batch: 1,
      writers: 1,
    },
    {
      id: 'postgres.append.concurrent',
      operation: 'batches of 10, 8 concurrent writers',
      events: quick ? 800 : 8_000,
      batch: 10,
      writers: 8,
    },
  ]
}

/**
 * Runs section 7.
 * @param ctx - the run's context.
 * @returns one result per measured append, or none without a PostgreSQL server.
 * @example
 * ```ts
 * import { runPostgresSection } from './sections/postgres-store.js'
 *
 * const results = await runPostgresSection(ctx)
 * ```
 */
export async function runPostgresSection(ctx: BenchContext): Promise<GroupResult[]> {
  const url = process.env['SYNC_KIT_TEST_PG']
  if (url === undefined || url === '') {
    ctx.log(
      '[bench] 7 PostgreSQL: skipped, SYNC_KIT_TEST_PG is not set (eval "$(scripts/start-postgres.sh)" starts a throwaway server)',
    )
    return []
  }
  const name = `sync_kit_bench_${Date.now()}_${randomBytes(3).toString('hex')}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`CREATE DATABASE "${name}"`)
  const dbUrl = new URL(url)
  dbUrl.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: POSTGRES_POOL_SIZE })
  pool.on('error', () => undefined)
  const results: GroupResult[] = []
  try {
    const trace = traceEvents(ctx.trace, {
      count: Math.max(...shapes(ctx.plan.mode).map((s) => s.events)),
    })
    for (const shape of shapes(ctx.plan.mode)) {
      const group = appendGroup(pool, shape, trace.slice(0, shape.events))
      ctx.log(`[bench] 7 PostgreSQL: ${group.operation}`)
      results.push(await measureGroup(group, ctx.plan.macro))
    }
  } finally {
    await pool.end()
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined)
    await admin.end()
  }
  return results
}

let schemas = 0

function appendGroup(pool: pg.Pool, shape: AppendShape, events: readonly Event[]): Group {
  // Each writer appends its share of the batches, in order.
  const batches = chunks(events, shape.batch)
  const shares = Array.from({ length: shape.writers }, (_, w) =>
    batches.filter((_, i) => i % shape.writers === w),
  )
  let store: PostgresStore | undefined
  let schema = ''
  const fresh = async (): Promise<void> => {
    schema = `b${++schemas}`
    store = await createPostgresStore({ pool, schema })
  }
  const drop = async (): Promise<void> => {
    await store?.close()
    store = undefined
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  }
  const countRows = async (): Promise<number> => {
    const result = await pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM "${schema}".sync_kit_events`,
    )
    return Number(result.rows[0]?.n)
  }
  return {
    id: shape.id,
    section: 7,
    operation: `PostgreSQL: append ${count(events.length)} events, ${shape.operation}`,
    n: events.length,
    expect: events.length,
    contenders: [
      {
        name: 'sync-kit',
        kind: 'sync-kit',
        note: 'storeBatch per batch: duplicate check, append lock, NOTIFY, in one statement',
        before: fresh,
        run: async () => {
          const s = store as PostgresStore
          await Promise.all(
            shares.map(async (share) => {
              for (const batch of share) await s.storeBatch(batch)
            }),
          )
          return countRows()
        },
        after: drop,
      },
      {
        name: 'raw pg',
        kind: 'baseline',
        note: 'one multi-row INSERT … FROM unnest(…) per batch, same table, pool and writers; no lock, no duplicate check',
        before: fresh,
        run: async () => {
          const table = `"${schema}".sync_kit_events`
          const sequence = `"${schema}".sync_kit_event_sequence`
          await Promise.all(
            shares.map(async (share) => {
              for (const batch of share) await rawInsert(pool, table, sequence, batch)
            }),
          )
          return countRows()
        },
        after: drop,
      },
    ],
  }
}

/**
 * The baseline's append: the same rows in one multi-row `INSERT`, numbered by the sequence, with
 * nothing else (no lock, no duplicate check, no notification).
 * @param pool - the pool.
 * @param table - the events table, quoted and qualified.
 * @param sequence - its sequence, quoted and qualified.
 * @param events - the batch.
 */
export async function rawInsert(
  pool: Pick<pg.Pool, 'query'>,
  table: string,
  sequence: string,
  events: readonly Event[],
): Promise<void> {
  const now = new Date().toISOString()
  await pool.query(
    `INSERT INTO ${table} (seq, id, type, aggregate_id, tenant, data, metadata, created_at) ` +
      `SELECT nextval('${sequence}'::regclass), u.id, u.type, u.aggregate_id, u.tenant, u.data, u.metadata, $7::timestamptz ` +
      'FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::json[], $6::json[]) AS u(id, type, aggregate_id, tenant, data, metadata)',
    [
      events.map((e) => e.id),
      events.map((e) => e.type),
      events.map((e) => e.aggregateId),
      events.map((e) => (typeof e.metadata?.tenant === 'string' ? e.metadata.tenant : null)),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => (e.metadata === undefined ? null : JSON.stringify(e.metadata))),
      now,
    ],
  )
}
