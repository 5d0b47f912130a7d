/**
 * Section 2: the SQLite store against raw `better-sqlite3` (prepared statements, one transaction
 * per batch, the same schema and connection settings) and emmett's SQLite event store.
 *
 * Every sample writes a fresh database file in the run's scratch directory, in WAL mode with
 * `synchronous = FULL` (sync-kit's default, so every committed batch is synced to disk) for both
 * sync-kit and the baseline; emmett-sqlite sets WAL itself and keeps SQLite's default
 * `synchronous` (FULL).
 *
 * @module
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'

import Database from 'better-sqlite3'

import type { Event, EventWithVersion, Version } from '../../src/index.js'
import { type SqliteStore, createSqliteStore } from '../../src/stores/sqlite/index.js'
import { type BenchContext, count, skipped } from '../context.js'
import { type Contender, type Group, type GroupResult, measureGroup } from '../harness.js'

/** A group whose prepared state is released after it is measured. */
interface GroupWithCleanup extends Group {
  readonly cleanups: readonly (() => Promise<void> | void)[]
}
import {
  type EmmettEventStore,
  type EmmettSqliteModule,
  emmettEvent,
  isLoaded,
  loadEmmettSqlite,
} from '../peers.js'
import { chunks, traceEvents } from '../trace-events.js'

/** Batch size of appends and page size of loads. */
export const SQLITE_PAGE = 1_000
/** Events emmett-sqlite is measured on: it appends ~100× slower than the others. */
export const EMMETT_SQLITE_MAX_EVENTS = 20_000

let fileCounter = 0

/**
 * A fresh database file path in the scratch directory.
 * @param ctx - the run's context.
 * @param label - names the file.
 * @returns the path (the file does not exist yet).
 */
export function freshDbPath(ctx: BenchContext, label: string): string {
  fileCounter++
  return join(ctx.tmpDir, `${label}-${fileCounter}.db`)
}

/**
 * Removes a database file and its WAL and shared-memory files.
 * @param path - the database path.
 */
export function removeDb(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true })
}

/** A raw better-sqlite3 connection on sync-kit's schema, with prepared statements. */
export interface RawSqliteLog {
  readonly db: Database.Database
  /** Inserts a batch in one transaction. */
  readonly insertBatch: (events: readonly Event[]) => void
  /** Reads the events after `seq` (0: from the start), at most `limit`, as events. */
  readonly page: (seq: number, limit: number) => { seq: number; event: Event }[]
}

/**
 * Opens a raw connection on sync-kit's schema: sync-kit's store creates the tables and sets the
 * same pragmas (WAL, `synchronous = FULL`, `busy_timeout`), then steps aside; every later
 * statement is the baseline's own.
 * @param path - the database file.
 * @returns the connection and its prepared batch insert and page select.
 */
export async function openRawLog(path: string): Promise<RawSqliteLog> {
  const db = new Database(path)
  await createSqliteStore({ database: db }).close()
  const insert = db.prepare(
    'INSERT INTO events (id, type, aggregate_id, tenant, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const select = db.prepare(
    'SELECT seq, id, type, aggregate_id, data, metadata FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
  )
  const insertBatch = db.transaction((events: readonly Event[]) => {
    const now = Date.now()
    for (const e of events) {
      insert.run(
        e.id,
        e.type,
        e.aggregateId,
        e.metadata?.tenant ?? null,
        JSON.stringify(e.data),
        e.metadata === undefined ? null : JSON.stringify(e.metadata),
        now,
      )
    }
  })
  interface Row {
    seq: number
    id: string
    type: string
    aggregate_id: string
    data: string
    metadata: string | null
  }
  const page = (seq: number, limit: number): { seq: number; event: Event }[] =>
    (select.all(seq, limit) as Row[]).map((row) => ({
      seq: row.seq,
      event:
        row.metadata === null
          ? {
              id: row.id,
              type: row.type,
              aggregateId: row.aggregate_id,
              data: JSON.parse(row.data),
            }
          : {
              id: row.id,
              type: row.type,
              aggregateId: row.aggregate_id,
              data: JSON.parse(row.data),
              metadata: JSON.parse(row.metadata),
            },
    }))
  return { db, insertBatch: (events) => insertBatch(events), page }
}

/**
 * Opens sync-kit's SQLite store on a new connection to `path`.
 * @param path - the database file.
 * @returns the store (close the store, then `store.database`).
 */
export function openSyncKitSqlite(path: string): SqliteStore {
  return createSqliteStore({ database: new Database(path) })
}

/**
 * The two contenders of a batched SQLite append — sync-kit's store and raw better-sqlite3 on the
 * same schema — each on a fresh file per sample, closed and removed after it.
 * @param ctx - the run's context (temporary folder).
 * @param batches - the batches to append, one transaction each.
 * @param labels - display names and notes, and a file-name prefix.
 * @returns the sync-kit contender, then the baseline.
 */
export function sqliteAppendContenders(
  ctx: BenchContext,
  batches: readonly (readonly Event[])[],
  labels: { syncKit: string; syncKitNote?: string; rawNote?: string; filePrefix: string },
): Contender[] {
  let skPath = ''
  let store: SqliteStore | undefined
  let rawPath = ''
  let raw: RawSqliteLog | undefined
  return [
    {
      name: labels.syncKit,
      kind: 'sync-kit',
      ...(labels.syncKitNote === undefined ? {} : { note: labels.syncKitNote }),
      before: () => {
        skPath = freshDbPath(ctx, `${labels.filePrefix}sync-kit`)
        store = openSyncKitSqlite(skPath)
      },
      run: async () => {
        const s = store as SqliteStore
        for (const batch of batches) await s.storeBatch(batch)
        return Number((await s.latestVersion()).value)
      },
      after: async () => {
        if (store !== undefined) {
          await store.close()
          store.database.close()
          store = undefined
        }
        removeDb(skPath)
      },
    },
    {
      name: 'raw better-sqlite3',
      kind: 'baseline',
      ...(labels.rawNote === undefined ? {} : { note: labels.rawNote }),
      sync: true,
      before: async () => {
        rawPath = freshDbPath(ctx, `${labels.filePrefix}raw`)
        raw = await openRawLog(rawPath)
      },
      run: () => {
        const r = raw as RawSqliteLog
        for (const batch of batches) r.insertBatch(batch)
        return (r.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n
      },
      after: () => {
        raw?.db.close()
        raw = undefined
        removeDb(rawPath)
      },
    },
  ]
}

/**
 * Loads a whole store page by page.
 * @param store - the store.
 * @param pageSize - events per page.
 * @returns the number of events read.
 */
export async function loadAllPages(
  store: { load(since: Version | null, options: { limit: number }): Promise<EventWithVersion[]> },
  pageSize: number,
): Promise<number> {
  let since: Version | null = null
  let total = 0
  for (;;) {
    const page = await store.load(since, { limit: pageSize })
    total += page.length
    const last = page.at(-1)
    if (last === undefined || page.length < pageSize) return total
    since = last.version
  }
}

function emmettSqliteStore(module: EmmettSqliteModule, path: string): EmmettEventStore {
  return module.getSQLiteEventStore({ fileName: path, schema: { autoMigration: 'CreateOrUpdate' } })
}

/**
 * Runs section 2.
 * @param ctx - the run's context.
 * @returns one result per measured operation.
 * @example
 * ```ts
 * import { runSqliteSection } from './sections/sqlite-store.js'
 *
 * const results = await runSqliteSection(ctx)
 * ```
 */
export async function runSqliteSection(ctx: BenchContext): Promise<GroupResult[]> {
  const { plan } = ctx
  const emmett = await loadEmmettSqlite()
  const events = traceEvents(ctx.trace, { count: plan.traceEvents })
  const n = events.length
  const emmettN = Math.min(n, plan.mode === 'quick' ? plan.quadraticCap : EMMETT_SQLITE_MAX_EVENTS)
  const results: GroupResult[] = []

  const appendGroup = (size: number, withEmmett: boolean): Group => {
    const batches = chunks(events.slice(0, size), SQLITE_PAGE)
    const contenders: Group['contenders'][number][] = sqliteAppendContenders(ctx, batches, {
      syncKit: 'sync-kit',
      rawNote: 'prepared INSERT, one transaction per batch, same schema and pragmas',
      filePrefix: '',
    })
    if (withEmmett) {
      if (isLoaded(emmett)) {
        const input = batches.map((batch) => batch.map(emmettEvent))
        let es: EmmettEventStore | undefined
        let epath = ''
        contenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'appendToStream(doc, batch)',
          before: () => {
            epath = freshDbPath(ctx, 'emmett')
            es = emmettSqliteStore(emmett.module, epath)
          },
          run: async () => {
            let length = 0n
            for (const batch of input) {
              length = (await (es as EmmettEventStore).appendToStream('doc', batch))
                .nextExpectedStreamVersion
            }
            return Number(length)
          },
          after: () => {
            // emmett-sqlite closes its connection after each call: nothing to close here.
            removeDb(epath)
          },
        })
      } else contenders.push(skipped(emmett.name, 'peer', emmett.reason))
    } else if (isLoaded(emmett)) {
      contenders.push(
        skipped(
          emmett.name,
          'peer',
          `~100× slower per event than the others here; measured on ${count(emmettN)} events below`,
        ),
      )
    }
    return {
      id: `sqlite.append.batch${size === n ? '' : `.${size}`}`,
      section: 2,
      operation: `SQLite: append ${count(size)} events in batches of ${count(SQLITE_PAGE)}`,
      n: size,
      expect: size,
      contenders,
    }
  }

  const loadGroup = async (size: number, withEmmett: boolean): Promise<GroupWithCleanup> => {
    const slice = events.slice(0, size)
    const storePath = freshDbPath(ctx, 'sync-kit-load')
    const store = openSyncKitSqlite(storePath)
    for (const batch of chunks(slice, SQLITE_PAGE)) await store.storeBatch(batch)
    const rawPath = freshDbPath(ctx, 'raw-load')
    const raw = await openRawLog(rawPath)
    for (const batch of chunks(slice, SQLITE_PAGE)) raw.insertBatch(batch)
    const contenders: Group['contenders'][number][] = [
      {
        name: 'sync-kit',
        kind: 'sync-kit',
        run: () => loadAllPages(store, SQLITE_PAGE),
      },
      {
        name: 'raw better-sqlite3',
        kind: 'baseline',
        note: 'prepared SELECT … WHERE seq > ? LIMIT ?, JSON.parse of data and metadata',
        sync: true,
        run: () => {
          let total = 0
          let seq = 0
          for (;;) {
            const page = raw.page(seq, SQLITE_PAGE)
            total += page.length
            const last = page.at(-1)
            if (last === undefined || page.length < SQLITE_PAGE) return total
            seq = last.seq
          }
        },
      },
    ]
    const cleanups: (() => Promise<void> | void)[] = [
      async () => {
        await store.close()
        store.database.close()
        raw.db.close()
        removeDb(storePath)
        removeDb(rawPath)
      },
    ]
    if (withEmmett) {
      if (isLoaded(emmett)) {
        const epath = freshDbPath(ctx, 'emmett-load')
        const es = emmettSqliteStore(emmett.module, epath)
        for (const batch of chunks(slice, SQLITE_PAGE)) {
          await es.appendToStream('doc', batch.map(emmettEvent))
        }
        contenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'readStream(doc, { from, to }) per page',
          run: async () => {
            let total = 0
            for (let from = 1; ; from += SQLITE_PAGE) {
              const page = await es.readStream('doc', {
                from: BigInt(from),
                to: BigInt(from + SQLITE_PAGE - 1),
              })
              total += page.events.length
              if (page.events.length < SQLITE_PAGE) return total
            }
          },
        })
        cleanups.push(() => removeDb(epath))
      } else contenders.push(skipped(emmett.name, 'peer', emmett.reason))
    } else if (isLoaded(emmett)) {
      contenders.push(
        skipped(
          emmett.name,
          'peer',
          `filling it takes too long; measured on ${count(emmettN)} events below`,
        ),
      )
    }
    return {
      id: `sqlite.load.all${size === n ? '' : `.${size}`}`,
      section: 2,
      operation: `SQLite: load all ${count(size)} events in pages of ${count(SQLITE_PAGE)}`,
      n: size,
      expect: size,
      contenders,
      cleanups,
    }
  }

  const run = async (group: Group | GroupWithCleanup): Promise<void> => {
    ctx.log(`[bench] 2 SQLite: ${group.operation}`)
    try {
      results.push(await measureGroup(group, plan.macro))
    } finally {
      for (const cleanup of 'cleanups' in group ? group.cleanups : []) await cleanup()
    }
  }
  await run(appendGroup(n, emmettN >= n))
  if (emmettN < n) await run(appendGroup(emmettN, true))
  await run(await loadGroup(n, emmettN >= n))
  if (emmettN < n) await run(await loadGroup(emmettN, true))
  return results
}
