/**
 * `sync-kit epoch`: prints the epoch of a sync server's SQLite database, or, with `--renew`, gives
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
import type { SqliteStore } from '../stores/sqlite/index.js'
import type { EpochCommandOptions } from './cli-args.js'
import { errorFields } from './json-log.js'
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
  const db = resolve(deps.cwd ?? process.cwd(), options.db)
  if (!existsSync(db)) {
    log.error('epoch failed', {
      code: 'invalid-argument',
      message: `[sync-kit] [cli] there is no database at ${JSON.stringify(db)}; name the file the server runs on with --db`,
    })
    return EXIT_USAGE
  }
  let store: SqliteStore
  try {
    store = await openSqliteStore({ path: db })
  } catch (error) {
    log.error('epoch failed', { ...errorFields(error), db })
    return EXIT_FAILURE
  }
  const generate = deps.generateEpoch ?? ((): string => crypto.randomUUID())
  try {
    const previous = await store.loadOrCreateEpoch(generate())
    if (!options.renew) {
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
    await store.close().catch(() => undefined)
  }
}
