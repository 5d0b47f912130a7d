// Test helpers for the PostgreSQL store: where the test server is, a database of its own per
// test file, pools that are ended afterwards, a pool that can hold a transaction's COMMIT, and the
// hooks and helpers the behaviour tests (postgres-*.int.test.ts) share.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, afterEach, beforeAll } from 'vitest'
import type { Event, EventWithVersion, StoreResult } from '../../types/index.js'
import { createPostgresStore } from './postgres-store.js'
import type {
  PostgresPool,
  PostgresPoolClient,
  PostgresStore,
  PostgresStoreOptions,
} from './postgres-types.js'

/** The environment variable that names the test server: a `postgres://` URL. */
export const PG_URL_VARIABLE = 'SYNC_KIT_TEST_PG'

/** The one message shown when the PostgreSQL tests are skipped. */
export const PG_SKIP_MESSAGE: string =
  `PostgreSQL tests skipped: ${PG_URL_VARIABLE} is not set. Start a throwaway server with ` +
  '`eval "$(scripts/start-postgres.sh)"` (needs Debian\'s postgresql: `sudo apt-get install -y postgresql`), ' +
  `or point ${PG_URL_VARIABLE} at a server you run (postgres://user@host:port/db; the tests create and drop a database of their own), then run the tests again`

/**
 * The test server's URL, or `undefined` when none is configured. With `CI=true` a missing
 * server is an error: CI (`.ci/run`) starts one, and must never skip these tests.
 * @returns the URL from {@link PG_URL_VARIABLE}.
 * @throws Error when `CI=true` and the variable is unset.
 */
export function postgresUrl(): string | undefined {
  const url = process.env[PG_URL_VARIABLE]
  if (url !== undefined && url !== '') return url
  if (process.env['CI'] === 'true') {
    throw new Error(
      `CI=true but ${PG_URL_VARIABLE} is not set: .ci/run starts PostgreSQL with scripts/start-postgres.sh and exports it; in CI the PostgreSQL tests fail rather than skip`,
    )
  }
  return undefined
}

/** A database created for one test file, dropped by {@link TestDatabase.drop}. */
export interface TestDatabase {
  /** Its name. */
  readonly name: string
  /** Its URL. */
  readonly url: string
  /**
   * A new pool on the database (a second pool stands in for a second server instance).
   * @param config - further pool settings.
   */
  pool(config?: pg.PoolConfig): pg.Pool
  /** A schema name not used before in this database. */
  freshSchema(): string
  /** Ends every pool it made and drops the database. */
  drop(): Promise<void>
}

/** Test databases older than this are left over from a killed run and are dropped. */
const STALE_MS = 6 * 60 * 60 * 1000

/**
 * Creates a database of its own for a test file, named after the file, the time and a random
 * part, so that concurrent runs and files never collide.
 * @param url - the server, from {@link postgresUrl}.
 * @param label - a short name for the file, e.g. `conformance`.
 * @returns the database.
 */
export async function createTestDatabase(url: string, label: string): Promise<TestDatabase> {
  const name = `sync_kit_test_${label}_${Date.now()}_${randomBytes(3).toString('hex')}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    await dropStale(admin)
    await admin.query(`CREATE DATABASE "${name}"`)
  } finally {
    await admin.end()
  }
  const dbUrl = new URL(url)
  dbUrl.pathname = `/${name}`
  const pools = new Set<pg.Pool>()
  let schemas = 0
  return {
    name,
    url: dbUrl.toString(),
    pool(config) {
      const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 5, ...config })
      // An idle client whose server connection dies emits 'error' on the pool; the tests that
      // kill connections expect it, and an unhandled 'error' event would crash the worker.
      pool.on('error', () => undefined)
      pools.add(pool)
      return pool
    },
    freshSchema: () => `s${++schemas}`,
    async drop() {
      await Promise.allSettled([...pools].map((p) => p.end()))
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}

async function dropStale(admin: pg.Client): Promise<void> {
  const result = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'sync\\_kit\\_test\\_%'",
  )
  for (const { datname } of result.rows) {
    const stamp = Number(/_(\d{13})_[0-9a-f]{6}$/.exec(datname)?.[1])
    if (Number.isFinite(stamp) && Date.now() - stamp > STALE_MS) {
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined)
    }
  }
}

/** A statement held back by a {@link TestPool}. */
export interface Hold {
  /** Resolves once a matching statement is being held (not sent yet). */
  readonly reached: Promise<void>
  /** Lets it go. */
  release(): void
}

/** A pool that records the statements sent through it and can hold one back. */
export interface TestPool {
  /** The pool to give the store. */
  readonly pool: PostgresPool
  /** Every statement sent through the pool, in order (the SQL text). */
  readonly statements: string[]
  /**
   * Arms a hold: the next statement that `match` accepts waits before it is sent.
   * @param match - which statement to hold.
   */
  holdNext(match: (text: string) => boolean): Hold
  /** {@link TestPool.holdNext} for the next `COMMIT`: a transaction held open just before it commits. */
  holdNextCommit(): Hold
}

/**
 * Wraps a pool so that a test can see the statements a store sends and hold one back, e.g. keep
 * a transaction open just before it commits: the store really drew its sequence numbers and
 * inserted its rows, and nobody else can see them yet.
 * @param pool - the real pool.
 * @returns the wrapper.
 */
export function testPool(pool: pg.Pool): TestPool {
  const statements: string[] = []
  let armed: { match: (text: string) => boolean; reached: () => void; gate: Promise<void> }[] = []
  const send = async <T>(text: string, run: () => Promise<T>): Promise<T> => {
    statements.push(text)
    const hold = armed.find((h) => h.match(text))
    if (hold !== undefined) {
      armed = armed.filter((h) => h !== hold)
      hold.reached()
      await hold.gate
    }
    return run()
  }
  const wrap = (client: pg.PoolClient): PostgresPoolClient => ({
    query: (text, values) =>
      send(text, () => (values === undefined ? client.query(text) : client.query(text, values))),
    release: (destroy) => client.release(destroy),
    on: (event, listener) => client.on(event, listener),
    removeListener: (event, listener) => client.removeListener(event, listener),
  })
  const holdNext = (match: (text: string) => boolean): Hold => {
    let reached!: () => void
    let release!: () => void
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve))
    const gate = new Promise<void>((resolve) => (release = resolve))
    armed.push({ match, reached, gate })
    return { reached: reachedPromise, release }
  }
  return {
    pool: {
      connect: async () => wrap(await pool.connect()),
      query: (text, values) =>
        send(text, () => (values === undefined ? pool.query(text) : pool.query(text, values))),
    },
    statements,
    holdNext,
    holdNextCommit: () => holdNext((text) => text === 'COMMIT'),
  }
}

/**
 * An event of aggregate `agg-1` whose data names its id.
 * @param id - its id.
 * @param extra - fields to set or override.
 * @returns the event.
 */
export function ev(id: string, extra: Partial<Event> = {}): Event {
  return { id, type: 'Noted', aggregateId: 'agg-1', data: { id }, ...extra }
}

/**
 * The ids of records, in their order.
 * @param records - loaded records.
 * @returns their event ids.
 */
export function ids(records: readonly EventWithVersion[]): string[] {
  return records.map((r) => r.event.id)
}

/**
 * Resolves after `ms` milliseconds.
 * @param ms - how long to wait, in milliseconds.
 * @returns a promise that resolves then.
 */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The error a promise rejects with.
 * @param promise - a promise expected to reject.
 * @returns the rejection reason.
 * @throws Error when the promise resolves.
 */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

/** The checkpoint whose row a test locks to hold an append open inside PostgreSQL. */
export const HOLD = { key: { remote: 'hold', direction: 'push' }, value: { version: '1' } } as const

/** An append whose statement is held in flight by {@link PostgresBehaviour.queueBehind}. */
export interface QueuedBehind {
  /** The recording pool the store uses; its statements start at the held append. */
  readonly recorded: TestPool
  /** The store, on {@link QueuedBehind.recorded}. */
  readonly store: PostgresStore
  /** The held append of event `first`. */
  readonly first: Promise<StoreResult>
  /** The hold on its statement: release it to let the append run. */
  readonly hold: Hold
  /** How many append statements (the ones taking the append lock) the store sent. */
  appendStatements(): number
}

/** The database, pools and helpers of the behaviour tests, from {@link usePostgresBehaviour}. */
export interface PostgresBehaviour {
  /** The file's database (usable inside tests and hooks, once `beforeAll` made it). */
  readonly db: TestDatabase
  /** A pool on it for the tests' own statements (likewise). */
  readonly admin: pg.Pool
  /**
   * A new pool on the database, ended after the test.
   * @param config - further pool settings.
   */
  newPool(config?: pg.PoolConfig): pg.Pool
  /**
   * Creates a store, closed after the test.
   * @param pool - its pool.
   * @param schema - its schema.
   * @param options - further options.
   */
  open(
    pool: PostgresPool,
    schema: string,
    options?: Partial<PostgresStoreOptions>,
  ): Promise<PostgresStore>
  /**
   * Counts rows.
   * @param sql - what follows `FROM`, e.g. `"s1".sync_kit_events WHERE …`.
   */
  count(sql: string): Promise<number>
  /**
   * The event sequence of a schema as `last_value`, with `+` once it was called.
   * @param schema - the store's schema.
   */
  sequenceState(schema: string): Promise<string>
  /**
   * Holds an append open on the server: locks the row of the {@link HOLD} checkpoint, so an
   * append writing that checkpoint takes the append lock and its sequence numbers, then waits
   * for the row before it can commit.
   * @param schema - the store's schema.
   */
  lockHoldRow(schema: string): Promise<{ release: () => Promise<void> }>
  /**
   * Waits until a statement of the pool named `application` waits for a lock.
   * @param application - the pool's `application_name`.
   * @throws Error when none did within about 5 s.
   */
  blockedOnLock(application: string): Promise<void>
  /**
   * Holds an append's statement (its write) in flight, so that the next appends of the store
   * wait for their turn, before anything of them is sent.
   * @param schema - the store's schema.
   */
  queueBehind(schema: string): Promise<QueuedBehind>
}

/**
 * A value a `beforeAll` hook makes, usable by name before it exists: each property read goes to
 * the value made, so a test file can destructure it in its `describe` body.
 */
function madeLater<T extends object>(what: string): { value: T; set(value: T): void } {
  let current: T | undefined
  const value = new Proxy({} as T, {
    get(_, key) {
      if (current === undefined) throw new Error(`${what} is used before beforeAll made it`)
      const member: unknown = Reflect.get(current, key, current)
      return typeof member === 'function'
        ? (member as (...args: unknown[]) => unknown).bind(current)
        : member
    },
  })
  return {
    value,
    set: (made) => {
      current = made
    },
  }
}

/**
 * Registers the hooks of a behaviour test file (call it inside the file's top `describe`): a
 * database of the file's own, made before its tests and dropped after them, and the stores and
 * pools of each test closed and ended after it, so the file never holds more than a few
 * connections.
 * @param label - names the file's database, e.g. `migrations`.
 * @returns the database, an admin pool and the helpers over them.
 * @throws Error (from `beforeAll`) when {@link PG_URL_VARIABLE} is unset.
 */
export function usePostgresBehaviour(label: string): PostgresBehaviour {
  let db!: TestDatabase
  let admin!: pg.Pool
  const dbLater = madeLater<TestDatabase>('the test database')
  const adminLater = madeLater<pg.Pool>('the admin pool')
  const stores: PostgresStore[] = []

  beforeAll(async () => {
    const url = postgresUrl()
    if (url === undefined) throw new Error(PG_SKIP_MESSAGE)
    db = await createTestDatabase(url, label)
    admin = db.pool()
    dbLater.set(db)
    adminLater.set(admin)
  })
  // Pools of one test are ended after it, so the file never holds more than a few connections.
  const pools: pg.Pool[] = []
  const newPool = (config?: pg.PoolConfig): pg.Pool => {
    const pool = db.pool(config)
    pools.push(pool)
    return pool
  }
  afterEach(async () => {
    await Promise.allSettled(stores.splice(0).map((s) => s.close()))
    await Promise.allSettled(pools.splice(0).map((p) => p.end()))
  })
  afterAll(async () => {
    await db.drop()
  })

  async function open(
    pool: PostgresPool,
    schema: string,
    options: Partial<PostgresStoreOptions> = {},
  ): Promise<PostgresStore> {
    const store = await createPostgresStore({ pool, schema, ...options })
    stores.push(store)
    return store
  }

  async function count(sql: string): Promise<number> {
    const result = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`)
    return Number(result.rows[0]?.n)
  }

  async function sequenceState(schema: string): Promise<string> {
    const result = await admin.query<{ v: string }>(
      `SELECT last_value::text || (CASE WHEN is_called THEN '+' ELSE '' END) AS v FROM "${schema}"."sync_kit_event_sequence"`,
    )
    return result.rows[0]?.v as string
  }

  async function lockHoldRow(schema: string): Promise<{ release: () => Promise<void> }> {
    await admin.query(
      `INSERT INTO "${schema}".sync_kit_checkpoints (remote, direction, version) VALUES ('hold', 'push', '0') ON CONFLICT DO NOTHING`,
    )
    const client = await admin.connect()
    await client.query('BEGIN')
    await client.query(
      `SELECT 1 FROM "${schema}".sync_kit_checkpoints WHERE remote = 'hold' FOR UPDATE`,
    )
    return {
      release: async () => {
        await client.query('ROLLBACK')
        client.release()
      },
    }
  }

  async function blockedOnLock(application: string): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const result = await admin.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [application],
      )
      if (result.rows.length > 0) return
      await sleep(10)
    }
    throw new Error(`no statement of ${application} waited for a lock`)
  }

  async function queueBehind(schema: string): Promise<QueuedBehind> {
    const recorded = testPool(newPool())
    const store = await open(recorded.pool, schema)
    recorded.statements.length = 0
    const hold = recorded.holdNext((text) => text.includes('pg_advisory_xact_lock'))
    const first = store.store(ev('first'))
    await hold.reached
    const appendStatements = (): number =>
      recorded.statements.filter((t) => t.includes('pg_advisory_xact_lock')).length
    return { recorded, store, first, hold, appendStatements }
  }

  return {
    db: dbLater.value,
    admin: adminLater.value,
    newPool,
    open,
    count,
    sequenceState,
    lockHoldRow,
    blockedOnLock,
    queueBehind,
  }
}
