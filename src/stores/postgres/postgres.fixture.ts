// Test helpers for the PostgreSQL store: where the test server is, a database of its own per
// test file, pools that are ended afterwards, and a pool that can hold a transaction's COMMIT.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { PostgresPool, PostgresPoolClient } from './postgres-types.js'

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
