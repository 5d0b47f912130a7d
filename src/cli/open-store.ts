/**
 * The store of `sync-kit serve`: a SQLite file (or `:memory:`), or a PostgreSQL database reached
 * through a `pg` pool that the CLI creates from a `postgres://` URL. `pg` is an optional peer
 * dependency: it is loaded only for such a URL, and its absence is reported with the command
 * that installs it.
 *
 * @example
 * ```ts
 * import { openServeStore } from './open-store.js'
 *
 * const opened = await openServeStore({ db: 'postgres://app@127.0.0.1:5432/app' }, { cwd: process.cwd(), warn: console.warn })
 * if (opened.kind === 'open') await opened.store.close()
 * ```
 *
 * @module
 */
import { statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

import { SyncKitError } from '../errors/sync-kit-error.js'
import { createPostgresStore } from '../stores/postgres/index.js'
import type { PostgresPool } from '../stores/postgres/index.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import type { EventStore } from '../types/index.js'
import { DEFAULT_PG_POOL_SIZE, DEFAULT_PG_STATEMENT_TIMEOUT_MS, isPostgresUrl } from './cli-args.js'
import type { ServeCommandOptions } from './cli-args.js'
import { errorFields } from './json-log.js'
import type { LogFields } from './json-log.js'

/** The in-memory database name SQLite understands. */
const MEMORY_DB = ':memory:'

/** How long a new PostgreSQL connection may take before the attempt fails, in ms. */
export const PG_CONNECT_TIMEOUT_MS = 5_000

/**
 * The `application_name` of the CLI's PostgreSQL connections (seen in `pg_stat_activity`), unless
 * the URL names one.
 */
export const PG_APPLICATION_NAME = 'sync-kit serve'

/** The part of the `pg` module the CLI uses: its `Pool`. */
export interface PgModule {
  readonly Pool: new (config: Record<string, unknown>) => PostgresPool & {
    on(event: 'error', listener: (error: Error) => void): unknown
    end(): Promise<void>
  }
}

/** Where the CLI's store comes from, and what it needs around it. */
export interface OpenStoreEnvironment {
  /** Base of a relative SQLite `--db`. */
  readonly cwd: string
  /** Logs a warning record (a PostgreSQL connection lost while idle). */
  readonly warn: (msg: string, fields: Record<string, unknown>) => void
  /** Loads `pg`. @defaultValue `import('pg')` */
  readonly importPg?: () => Promise<unknown>
}

/** An open store, with what the `listening` record says about it and how to close it all. */
export interface OpenedStore {
  readonly kind: 'open'
  readonly store: EventStore
  /** The `db` of the records: the absolute SQLite path, `:memory:`, or the URL without secrets. */
  readonly db: string
  /** Closes the store, then the pool the CLI created for it (PostgreSQL). */
  close(): Promise<void>
}

/** A store that could not be opened: the `start failed` record's fields and the exit code. */
export interface FailedStore {
  readonly kind: 'failed'
  /** `code`, `message` (and `stack` for an unexpected error), `db`. */
  readonly fields: LogFields
  /** True for a bad command line (a missing directory: exit code 2), else exit code 1. */
  readonly usage: boolean
}

/**
 * Opens the store `--db` names.
 * @param options - the `serve` flags (`db`, `synchronous`, the `--pg-*` flags).
 * @param env - working directory, warning sink, `pg` loader.
 * @returns the store, or why it could not be opened.
 */
export async function openServeStore(
  options: Pick<ServeCommandOptions, 'db' | 'synchronous' | 'pgPoolSize' | 'pgStatementTimeoutMs'>,
  env: OpenStoreEnvironment,
): Promise<OpenedStore | FailedStore> {
  if (isPostgresUrl(options.db)) return openPostgres(options, env)
  const db = options.db === MEMORY_DB ? MEMORY_DB : resolve(env.cwd, options.db)
  if (db !== MEMORY_DB && !isDirectory(dirname(db))) {
    return {
      kind: 'failed',
      usage: true,
      fields: {
        code: 'invalid-argument',
        message: `[sync-kit] [cli] the directory of --db ${JSON.stringify(db)} does not exist; create it or pick another path`,
        db,
      },
    }
  }
  try {
    const store = await openSqliteStore({ path: db, synchronous: options.synchronous })
    return { kind: 'open', store, db, close: () => store.close() }
  } catch (error) {
    return failed(error, db)
  }
}

async function openPostgres(
  options: Pick<ServeCommandOptions, 'db' | 'pgPoolSize' | 'pgStatementTimeoutMs'>,
  env: OpenStoreEnvironment,
): Promise<OpenedStore | FailedStore> {
  const db = redactUrl(options.db)
  let pg: PgModule
  try {
    pg = pgModule(await (env.importPg ?? (() => import('pg')))())
  } catch (error) {
    return {
      kind: 'failed',
      usage: false,
      fields: {
        code: 'missing-dependency',
        message:
          '[sync-kit] [cli] --db postgres://… needs the PostgreSQL driver `pg`, an optional peer dependency of sync-kit: install it next to sync-kit (npm install pg) and start again',
        db,
        cause: error instanceof Error ? error.message.slice(0, 300) : String(error),
      },
    }
  }
  const statementTimeout = options.pgStatementTimeoutMs ?? DEFAULT_PG_STATEMENT_TIMEOUT_MS
  const pool = new pg.Pool({
    connectionString: options.db,
    max: options.pgPoolSize ?? DEFAULT_PG_POOL_SIZE,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    // Finds a peer that vanished without closing (the listening connection idles for long).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // One the URL names (`?application_name=…`) wins: it tells instances apart.
    ...(hasParameter(options.db, 'application_name')
      ? {}
      : { application_name: PG_APPLICATION_NAME }),
    ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
  })
  // An idle connection the server closes emits 'error' on the pool; unheard, it would end the
  // process. The pool replaces it on the next checkout.
  pool.on('error', (error) => {
    env.warn('database connection lost', {
      code: (error as { code?: unknown }).code ?? 'unavailable',
      message: `[sync-kit] [cli] an idle PostgreSQL connection broke (${error.message.slice(0, 200)}); the pool opens a new one when needed`,
    })
  })
  try {
    const store = await createPostgresStore({ pool })
    return {
      kind: 'open',
      store,
      db,
      close: async () => {
        try {
          await store.close()
        } finally {
          await pool.end()
        }
      },
    }
  } catch (error) {
    await pool.end().catch(() => undefined)
    return failed(error, db)
  }
}

/** `pg`'s module as `import()` returns it (a CommonJS module: its exports are `default`). */
function pgModule(loaded: unknown): PgModule {
  const candidate = (loaded as { default?: unknown }).default ?? loaded
  if (typeof (candidate as { Pool?: unknown }).Pool !== 'function') {
    throw new TypeError('the pg module has no Pool')
  }
  return candidate as PgModule
}

function hasParameter(url: string, name: string): boolean {
  try {
    return new URL(url).searchParams.has(name)
  } catch {
    return false
  }
}

/**
 * A PostgreSQL URL without its password (in the user part or the query), for logs.
 * @param url - the `--db` URL.
 * @returns the URL to show.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***')
    return parsed.toString()
  } catch {
    return 'postgres://…'
  }
}

function failed(error: unknown, db: string): FailedStore {
  return { kind: 'failed', usage: false, fields: { ...errorFields(error), db } }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return false
    throw new SyncKitError(
      'internal',
      `[sync-kit] [cli] could not inspect ${JSON.stringify(path)}: ${error instanceof Error ? error.message : String(error)}`,
      {},
      { cause: error },
    )
  }
}
