// Test helpers of the IndexedDB store: fresh fake-indexeddb factories, a factory that lets a test
// see the store's connections and transactions, and raw IndexedDB calls as promises.
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
import type { Event } from '../../types/index.js'
import type { IndexedDbFactory, IndexedDbKeyRangeClass } from './index.js'

/** The IndexedDB options of a store on its own, empty fake-indexeddb. */
export interface FakeIndexedDb {
  readonly indexedDB: IDBFactory
  readonly IDBKeyRange: IndexedDbKeyRangeClass
}

/** A new, empty fake-indexeddb (databases of one factory are shared by its stores). */
export function fakeIndexedDb(): FakeIndexedDb {
  return { indexedDB: new IDBFactory(), IDBKeyRange }
}

/** One transaction a spied connection started. */
export interface SpiedTransaction {
  readonly stores: readonly string[]
  readonly mode: IDBTransactionMode
  readonly durability: string | undefined
}

/** A fake-indexeddb whose connections and transactions the test can see. */
export interface SpiedIndexedDb {
  readonly options: {
    readonly indexedDB: IndexedDbFactory
    readonly IDBKeyRange: IndexedDbKeyRangeClass
  }
  /** The raw factory, for raw calls on the same databases. */
  readonly factory: IDBFactory
  /** Every connection opened through `options.indexedDB`, in order. */
  readonly connections: IDBDatabase[]
  /** Every transaction those connections started, in order. */
  readonly transactions: SpiedTransaction[]
}

/** A fake-indexeddb that records the connections and transactions of the stores opened on it. */
export function spiedIndexedDb(): SpiedIndexedDb {
  const factory = new IDBFactory()
  const connections: IDBDatabase[] = []
  const transactions: SpiedTransaction[] = []
  const spy: IndexedDbFactory = {
    open: (name, version) => {
      const request = version === undefined ? factory.open(name) : factory.open(name, version)
      // Registered before the store's own onsuccess, so it sees the connection first.
      request.addEventListener('success', () => {
        const db = request.result
        const transaction = db.transaction.bind(db)
        db.transaction = ((stores: string | string[], mode?: IDBTransactionMode, options?) => {
          transactions.push({
            stores: [stores].flat().sort(),
            mode: mode ?? 'readonly',
            durability: options?.durability,
          })
          return transaction(stores, mode, options)
        }) as IDBDatabase['transaction']
        connections.push(db)
      })
      return request
    },
    deleteDatabase: (name) => factory.deleteDatabase(name),
  }
  return { options: { indexedDB: spy, IDBKeyRange }, factory, connections, transactions }
}

/** Resolves with a request's result (fake-indexeddb or a browser's), rejects with its error. */
export function settle<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new Error('request failed'))
  })
}

/** Deletes a database; resolves once it is gone (the stores on it close themselves first). */
export function deleteDatabase(factory: IDBFactory, name: string): Promise<void> {
  return settle(factory.deleteDatabase(name)).then(() => undefined)
}

/**
 * Opens a database with raw IndexedDB calls, as other code (or another version of sync-kit)
 * would; `upgrade` runs in `onupgradeneeded`.
 */
export function openRaw(
  factory: IDBFactory,
  name: string,
  version?: number,
  upgrade?: (db: IDBDatabase, transaction: IDBTransaction, oldVersion: number) => void,
): Promise<IDBDatabase> {
  const request = version === undefined ? factory.open(name) : factory.open(name, version)
  request.onupgradeneeded = (event) => {
    upgrade?.(request.result, request.transaction as IDBTransaction, event.oldVersion)
  }
  return settle(request)
}

/** An event with defaults for the fields a test does not care about. */
export function ev(id: string, overrides: Partial<Event> = {}): Event {
  return { id, type: 'T', aggregateId: 'a1', data: { id }, ...overrides }
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection, but the call succeeded')
}
