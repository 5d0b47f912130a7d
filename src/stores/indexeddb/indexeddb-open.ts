import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Timers } from '../../types/index.js'
import { errorName } from './indexeddb-errors.js'
import { STORES, applyUpgrades, checkSchema, newerDatabase } from './indexeddb-schema.js'
import type { IndexedDbUpgrade } from './indexeddb-schema.js'

/** What {@link openDatabase} needs. */
export interface OpenDatabaseSettings {
  /** The IndexedDB implementation. */
  readonly factory: IDBFactory
  /** The database name. */
  readonly name: string
  /** The schema steps; the database is opened at version `upgrades.length`. */
  readonly upgrades: readonly IndexedDbUpgrade[]
  /** The store's message prefix. */
  readonly prefix: string
  /** How long to wait while `blocked` by another tab before giving up. */
  readonly blockedTimeoutMs: number
  /** Timers for `blockedTimeoutMs`. */
  readonly timers: Timers
}

/**
 * Opens (creating or upgrading) the store's database at the schema version of `upgrades`.
 *
 * - A new or older database is upgraded in `onupgradeneeded`, all steps in one transaction.
 * - A newer one (`VersionError`) is refused with `incompatible-database` naming its version.
 * - While another tab keeps an older version open (`blocked`), the open waits up to
 *   `blockedTimeoutMs` (tabs running this store close on `versionchange`, so the wait is short),
 *   then rejects with `unavailable`; a connection that arrives after that is closed at once.
 * @param settings - see {@link OpenDatabaseSettings}.
 * @returns the open connection, its schema checked.
 * @throws SyncKitError `incompatible-database`, `unavailable` (blocked, or the browser refused
 * to open IndexedDB: private mode, storage disabled, opaque origin).
 */
export function openDatabase(settings: OpenDatabaseSettings): Promise<IDBDatabase> {
  const { factory, name, upgrades, prefix, timers } = settings
  const supported = upgrades.length
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest
    try {
      request = factory.open(name, supported)
    } catch (error) {
      reject(openFailure(prefix, name, error))
      return
    }
    let gaveUp = false
    let timer: unknown
    let upgradeError: unknown
    const stopWaiting = (): void => {
      if (timer !== undefined) timers.clearTimeout(timer)
      timer = undefined
    }
    request.onupgradeneeded = (event) => {
      const transaction = request.transaction
      try {
        if (transaction === null) throw new Error('no upgrade transaction')
        applyUpgrades(request.result, transaction, event.oldVersion, upgrades, prefix)
      } catch (error) {
        upgradeError = error
        transaction?.abort()
      }
    }
    request.onblocked = () => {
      if (timer !== undefined || gaveUp) return
      timer = timers.setTimeout(() => {
        timer = undefined
        gaveUp = true
        reject(
          new SyncKitError(
            'unavailable',
            `${prefix} opening the database "${name}" is blocked: another tab (or window or worker) of this site keeps it open at an older version and does not close it; close or reload the other tabs, then retry`,
            {},
          ),
        )
      }, settings.blockedTimeoutMs)
    }
    request.onsuccess = () => {
      stopWaiting()
      const db = request.result
      if (gaveUp) {
        db.close()
        return
      }
      try {
        checkSchema(db, supported, prefix)
      } catch (error) {
        db.close()
        reject(error)
        return
      }
      resolve(db)
    }
    request.onerror = (event) => {
      stopWaiting()
      // Handled here: nothing else should see this error event.
      event.preventDefault()
      if (gaveUp) return
      const error = request.error
      if (upgradeError !== undefined) reject(upgradeError)
      else if (errorName(error) === 'VersionError') {
        void currentVersion(factory, name).then((found) => {
          reject(newerDatabase(prefix, name, found, supported, error))
        })
      } else reject(openFailure(prefix, name, error))
    }
  })
}

/**
 * The version of an existing database, opened without a version (so without an upgrade), and
 * whether it has the sync-kit `meta` store; `undefined` when it cannot be opened.
 */
function currentVersion(
  factory: IDBFactory,
  name: string,
): Promise<{ readonly version: number; readonly ours: boolean } | undefined> {
  return new Promise((resolve) => {
    try {
      const request = factory.open(name)
      request.onsuccess = () => {
        const db = request.result
        const found = { version: db.version, ours: db.objectStoreNames.contains(STORES.meta) }
        db.close()
        resolve(found)
      }
      request.onerror = (event) => {
        event.preventDefault()
        resolve(undefined)
      }
    } catch {
      resolve(undefined)
    }
  })
}

function openFailure(prefix: string, name: string, error: unknown): SyncKitError<'unavailable'> {
  const detail = `${errorName(error) ?? 'Error'}${error instanceof Error && error.message !== '' ? `: ${error.message}` : ''}`
  return new SyncKitError(
    'unavailable',
    `${prefix} IndexedDB could not open the database "${name}" (${detail}); the browser may not allow storage for this page (private mode, site data blocked, a sandboxed or file:// page)`,
    {},
    { cause: error },
  )
}
