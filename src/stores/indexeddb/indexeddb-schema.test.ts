// Schema versions of the IndexedDB store, in Node on fake-indexeddb: a database written by an
// older version is upgraded in onupgradeneeded, one written by a newer version or by other code is
// refused, and tabs holding an older version close themselves (or block the upgrade, boundedly).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { INDEXEDDB_SCHEMA_VERSION, openIndexedDbStore } from './index.js'
import type { IndexedDbStore } from './index.js'
import { INDEXEDDB_UPGRADES, STORES } from './indexeddb-schema.js'
import type { IndexedDbUpgrade } from './indexeddb-schema.js'
import { openIndexedDbStoreWith } from './indexeddb-store.js'
import { ev, fakeIndexedDb, openRaw, rejection, settle } from './indexeddb.fixture.js'

/**
 * A version 2 as a later sync-kit might write it: a new index, and existing records moved to a
 * new shape with a cursor in the upgrade transaction.
 */
const VERSION_2: IndexedDbUpgrade = {
  version: 2,
  description: 'test: an index on [type, aggregateId]; every event gains a `v2` field',
  upgrade(_db, transaction) {
    const events = transaction.objectStore(STORES.events)
    events.createIndex('type_aggregate', ['type', 'aggregateId'])
    const cursor = events.openCursor()
    cursor.onsuccess = () => {
      const current = cursor.result
      if (current === null) return
      current.update({ ...(current.value as object), v2: true })
      current.continue()
    }
  },
}
const UPGRADES_V2 = [...INDEXEDDB_UPGRADES, VERSION_2]

const opened: IndexedDbStore[] = []
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close()
})

function track(store: IndexedDbStore): IndexedDbStore {
  opened.push(store)
  return store
}

describe('IndexedDB store: schema versions', () => {
  it('is at schema version 1, kept in the database version and in meta', async () => {
    const fake = fakeIndexedDb()
    await (await openIndexedDbStore({ name: 'db', ...fake })).close()
    const raw = await openRaw(fake.indexedDB, 'db')
    expect(INDEXEDDB_SCHEMA_VERSION).toBe(1)
    expect(raw.version).toBe(1)
    expect(Array.from(raw.objectStoreNames).sort()).toEqual([
      'checkpoints',
      'events',
      'meta',
      'state',
    ])
    const meta = raw.transaction('meta').objectStore('meta')
    expect(await settle(meta.get('schemaVersion'))).toBe(1)
    raw.close()
  })

  it('upgrades a database written by an older version, keeping its events and replica id', async () => {
    // Given a version 1 database with events, a checkpoint and state
    const fake = fakeIndexedDb()
    const old = await openIndexedDbStore({ name: 'db', ...fake })
    await old.storeBatch([ev('e1'), ev('e2', { aggregateId: 'a2' })], {
      checkpoint: { key: { remote: 's', direction: 'pull' }, value: { version: '5', epoch: 'x' } },
    })
    await old.setState('k', { kept: true })
    await old.close()
    // When a sync-kit that knows version 2 opens it
    const store = track(await openIndexedDbStoreWith({ name: 'db', ...fake }, UPGRADES_V2))
    // Then the upgrade ran once, and everything is still there
    expect(store.replicaId).toBe(old.replicaId)
    expect((await store.load(null)).map((r) => [r.event.id, r.version.toString()])).toEqual([
      ['e1', '1'],
      ['e2', '2'],
    ])
    expect(await store.getCheckpoint({ remote: 's', direction: 'pull' })).toEqual({
      version: '5',
      epoch: 'x',
    })
    expect(await store.getState('k')).toEqual({ kept: true })
    expect((await store.store(ev('e3'))).version.toString()).toBe('3')
    await store.close()
    const raw = await openRaw(fake.indexedDB, 'db')
    expect(raw.version).toBe(2)
    const events = raw.transaction(['events', 'meta']).objectStore('events')
    expect(events.indexNames.contains('type_aggregate')).toBe(true)
    const records = (await settle(events.getAll())) as { id: string; v2?: boolean }[]
    expect(records.map((r) => [r.id, r.v2])).toEqual([
      ['e1', true],
      ['e2', true],
      ['e3', undefined],
    ])
    raw.close()
  })

  it('creates a new database at the latest version in one go', async () => {
    const fake = fakeIndexedDb()
    const store = track(await openIndexedDbStoreWith({ name: 'db', ...fake }, UPGRADES_V2))
    expect((await store.store(ev('e1'))).version.toString()).toBe('1')
  })

  it('refuses a database written by a newer version with incompatible-database, changing nothing', async () => {
    // Given a database a newer sync-kit (version 2) wrote
    const fake = fakeIndexedDb()
    const newer = await openIndexedDbStoreWith({ name: 'db', ...fake }, UPGRADES_V2)
    await newer.store(ev('e1'))
    await newer.close()
    // When this sync-kit (version 1) opens it
    const error = await rejection(openIndexedDbStore({ name: 'db', ...fake }))
    // Then it is refused, saying what to do, and the database is as it was
    expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
    expect(error.message).toBe(
      '[sync-kit] [indexeddb:db] the database "db" has version 2 but this sync-kit knows schema versions up to 1; it was written by a newer sync-kit, so upgrade sync-kit (reload the app) to open it',
    )
    expect((error as { details?: unknown }).details).toEqual({
      userVersion: 2,
      supportedVersion: 1,
    })
    const again = track(await openIndexedDbStoreWith({ name: 'db', ...fake }, UPGRADES_V2))
    expect((await again.load(null)).map((r) => r.event.id)).toEqual(['e1'])
  })

  it('refuses a database of the same name that other code made, at any version', async () => {
    const fake = fakeIndexedDb()
    for (const [name, version] of [
      ['same', 1],
      ['older', 1],
      ['newer', 3],
    ] as const) {
      const raw = await openRaw(fake.indexedDB, name, version, (db) => {
        db.createObjectStore('todos')
      })
      raw.close()
    }
    const same = await rejection(openIndexedDbStore({ name: 'same', ...fake }))
    expect(isSyncKitError(same, 'incompatible-database')).toBe(true)
    expect(same.message).toMatch(/has no sync-kit "events" object store or index as expected/)
    const older = await rejection(openIndexedDbStoreWith({ name: 'older', ...fake }, UPGRADES_V2))
    expect(isSyncKitError(older, 'incompatible-database')).toBe(true)
    expect(older.message).toMatch(/has no sync-kit "meta" object store/)
    const newer = await rejection(openIndexedDbStore({ name: 'newer', ...fake }))
    expect(isSyncKitError(newer, 'incompatible-database')).toBe(true)
    expect(newer.message).toMatch(/has version 3 .* it is not a sync-kit database/)
    // The aborted upgrade left the other code's database as it was.
    const raw = await openRaw(fake.indexedDB, 'older')
    expect([raw.version, Array.from(raw.objectStoreNames)]).toEqual([1, ['todos']])
    raw.close()
  })

  it('refuses a database whose indexes differ from the schema', async () => {
    const fake = fakeIndexedDb()
    const raw = await openRaw(fake.indexedDB, 'db', 1, (db) => {
      const events = db.createObjectStore('events', { keyPath: 'seq' })
      events.createIndex('id', 'id') // not unique
      for (const store of ['checkpoints', 'state', 'meta']) db.createObjectStore(store)
    })
    raw.close()
    const error = await rejection(openIndexedDbStore({ name: 'db', ...fake }))
    expect(isSyncKitError(error, 'incompatible-database')).toBe(true)
    expect((error as { details?: { table?: string } }).details?.table).toBe('events.id')
  })
})

describe('IndexedDB store: other tabs', () => {
  it('closes itself when another tab upgrades the database, so the upgrade is not blocked', async () => {
    // Given a tab with the store open at version 1
    const fake = fakeIndexedDb()
    const onClosed = vi.fn()
    const tab1 = await openIndexedDbStore({ name: 'db', ...fake, onClosed })
    await tab1.store(ev('e1'))
    // When another tab opens it with a newer sync-kit
    const tab2 = track(await openIndexedDbStoreWith({ name: 'db', ...fake }, UPGRADES_V2))
    // Then the first tab closed itself, and says why on every call
    expect(onClosed).toHaveBeenCalledTimes(1)
    const reported = onClosed.mock.calls[0]?.[0] as Error
    expect(isSyncKitError(reported, 'closed')).toBe(true)
    expect(reported.message).toMatch(/upgrading the database to version 2/)
    const error = await rejection(tab1.store(ev('e2')))
    expect(isSyncKitError(error, 'closed')).toBe(true)
    expect(error.message).toMatch(
      /^\[sync-kit\] \[indexeddb:db\] store is closed: another tab .* upgrading the database to version 2, so this store closed its connection to let it; reload the page/,
    )
    expect((await tab2.load(null)).map((r) => r.event.id)).toEqual(['e1'])
    await tab1.close()
  })

  it('waits while blocked by a connection that closes late, then opens', async () => {
    const fake = fakeIndexedDb()
    await (await openIndexedDbStore({ name: 'db', ...fake })).close()
    const slow = await openRaw(fake.indexedDB, 'db')
    slow.onversionchange = () => setTimeout(() => slow.close(), 20)
    const store = track(
      await openIndexedDbStoreWith({ name: 'db', ...fake, blockedTimeoutMs: 5_000 }, UPGRADES_V2),
    )
    expect((await store.latestVersion()).toString()).toBe('0')
  })

  it('gives up with unavailable after blockedTimeoutMs when a connection never closes', async () => {
    // Given another tab's connection that ignores versionchange (not a sync-kit store)
    const fake = fakeIndexedDb()
    await (await openIndexedDbStore({ name: 'db', ...fake })).close()
    const stubborn = await openRaw(fake.indexedDB, 'db')
    // When a newer sync-kit opens the database
    const error = await rejection(
      openIndexedDbStoreWith({ name: 'db', ...fake, blockedTimeoutMs: 30 }, UPGRADES_V2),
    )
    // Then it gives up in time, saying what blocks it
    expect(isSyncKitError(error, 'unavailable')).toBe(true)
    expect(error.message).toMatch(/is blocked: another tab .* keeps it open at an older version/)
    // And once the other connection closes, the late upgrade is applied and its connection closed.
    stubborn.close()
    const store = track(await openIndexedDbStoreWith({ name: 'db', ...fake }, UPGRADES_V2))
    expect((await store.latestVersion()).toString()).toBe('0')
  })
})
