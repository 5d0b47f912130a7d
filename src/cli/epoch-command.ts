/**
 * `sync-kit epoch`: prints the epoch of a sync server's database (a SQLite file or a
 * `postgres://` URL, opened as `serve` opens it), or, with `--renew`, gives
 * a database restored from a backup a new epoch (through the store's `renewEpoch`), so clients
 * treat it as a new log: they pull it from the start and push again what the backup lacks.
 *
 * @example
 * ```ts
 * import { runEpoch } from './epoch-command.js'
 * import { createCliLog } from './json-log.js'
 *
 * const code = await runEpoch(
 *   { db: 'sync.db', renew: true },
 *   { log: createCliLog({ stdout: console.log, stderr: console.error }) },
 * )
 * ```
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

import { renewEpoch } from '../server/index.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import type { EventStore } from '../types/index.js'
import { type EpochCommandOptions, isPostgresUrl } from './cli-args.js'
import { errorFields } from './json-log.js'
import { openServeStore } from './open-store.js'
import type { CliLog } from './json-log.js'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './serve-command.js'

/** What {@link runEpoch} needs from its environment. */
export interface EpochDependencies {
  /** Where records go. */
  readonly log: CliLog
  /** Base of a relative `--db`. @defaultValue `process.cwd()` */
  readonly cwd?: string
  /** Makes the new epoch. @defaultValue `crypto.randomUUID()` */
  readonly generateEpoch?: () => string
  /** Loads `pg` for a `--db postgres://…`. @defaultValue `import('pg')` */
  readonly importPg?: () => Promise<unknown>
}

/**
 * Runs `sync-kit epoch`: writes one `epoch` record (`db`, `epoch`), or with `--renew` one
 * `epoch renewed` record (`db`, `previous`, `epoch`). Never creates a database: a path that does
 * not exist is a usage error.
 * @param options - the parsed flags.
 * @param deps - the logger, working directory, epoch generator.
 * @returns the exit code: 0, 1 when the database cannot be opened or written, 2 for a missing file.
 * @example
 * ```ts
 * import { runEpoch } from './epoch-command.js'
 * import { createCliLog } from './json-log.js'
 *
 * await runEpoch({ db: '/var/lib/app/sync.db', renew: false }, { log: createCliLog({ stdout: console.log, stderr: console.error }) })
 * ```
 */
export async function runEpoch(
  options: EpochCommandOptions,
  deps: EpochDependencies,
): Promise<number> {
  const { log } = deps
  if (isPostgresUrl(options.db)) {
    // The serve command's opener: the same pool settings, and the password kept out of records.
    const opened = await openServeStore(
      { db: options.db, synchronous: 'full', pgPoolSize: 2 },
      {
        cwd: deps.cwd ?? process.cwd(),
        warn: log.warn,
        ...(deps.importPg ? { importPg: deps.importPg } : {}),
      },
    )
    if (opened.kind === 'failed') {
      log.error('epoch failed', opened.fields)
      return opened.usage ? EXIT_USAGE : EXIT_FAILURE
    }
    return epochOf(opened.store, opened.db, options.renew, deps, () => opened.close())
  }
  const db = resolve(deps.cwd ?? process.cwd(), options.db)
  if (!existsSync(db)) {
    log.error('epoch failed', {
      code: 'invalid-argument',
      message: `[sync-kit] [cli] there is no database at ${JSON.stringify(db)}; name the file the server runs on with --db`,
    })
    return EXIT_USAGE
  }
  let store: EventStore
  try {
    store = await openSqliteStore({ path: db })
  } catch (error) {
    log.error('epoch failed', { ...errorFields(error), db })
    return EXIT_FAILURE
  }
  return epochOf(store, db, options.renew, deps, () => store.close())
}

/** Prints or renews the epoch of an open store, then closes it. */
async function epochOf(
  store: EventStore,
  db: string,
  renew: boolean,
  deps: EpochDependencies,
  close: () => Promise<void>,
): Promise<number> {
  const { log } = deps
  const generate = deps.generateEpoch ?? ((): string => crypto.randomUUID())
  try {
    // Both stores the command opens (SQLite, PostgreSQL) have the epoch capability.
    const previous = await (store.loadOrCreateEpoch as (candidate: string) => Promise<string>)(
      generate(),
    )
    if (!renew) {
      log.info('epoch', { db, epoch: previous })
      return EXIT_OK
    }
    const epoch = await renewEpoch(store, generate(), 'cli')
    log.info('epoch renewed', { db, previous, epoch })
    return EXIT_OK
  } catch (error) {
    log.error('epoch failed', { ...errorFields(error), db })
    return EXIT_FAILURE
  } finally {
    await close().catch(() => undefined)
  }
}
