// The server over real stores, through HTTP (`serve` on 127.0.0.1): duplicates cost nothing on
// SQLite, storage failures a client cannot fix answer 503 and heal without a restart, and deletes
// pass a replica's type filter.
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { SyncManager, createMemoryStore, createTombstone, isTombstone } from '../../index.js'
import { createSqliteStore, openSqliteStore } from '../../stores/sqlite/index.js'
import type { SqliteDatabase, SqliteStatement } from '../../stores/sqlite/index.js'
import type { EventStore } from '../../types/index.js'
import { createHttpTransport } from './http-transport.js'
import { serve } from './node.js'
import { createSyncHandler } from './sync-handler.js'
import { makeEvent, postEvents } from './test-helpers.fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'sync-kit-server-storage-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

const running: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop().catch(() => undefined)
})

async function startServer(store: EventStore): Promise<string> {
  const server = await serve({ handler: createSyncHandler({ store }), port: 0 })
  running.push(() => server.close())
  return server.url
}

const push = postEvents

describe('duplicates through the HTTP server on SQLite', () => {
  it('Given a server on a SQLite file, When the same events are pushed again, Then stored is 0 and neither sqlite_sequence, the latest version nor the file change; a mixed push takes exactly as many versions as new events', async () => {
    const path = join(dir, `server-${++files}.db`)
    const store = await openSqliteStore({ path })
    running.push(() => store.close())
    const url = await startServer(store)
    const observer = new Database(path, { readonly: true })
    running.push(async () => observer.close())
    const sequence = (): unknown =>
      (
        observer.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as {
          seq: number
        }
      ).seq
    const events = [makeEvent('e1'), makeEvent('e2'), makeEvent('e3')]
    expect(await (await push(url, events)).json()).toMatchObject({ stored: 3, latestVersion: '3' })
    const dataVersion = observer.pragma('data_version', { simple: true })

    for (let i = 0; i < 5; i++) {
      const again = await push(url, events)
      expect(await again.json()).toMatchObject({ stored: 0, duplicates: 3, latestVersion: '3' })
    }

    expect(sequence()).toBe(3)
    expect(observer.pragma('data_version', { simple: true })).toBe(dataVersion)
    const mixed = await push(url, [
      makeEvent('e2'),
      makeEvent('n1'),
      makeEvent('e3'),
      makeEvent('n2'),
    ])
    expect(await mixed.json()).toMatchObject({ stored: 2, duplicates: 2, latestVersion: '5' })
    expect(sequence()).toBe(5)
  })
})

/** A SQLite error as better-sqlite3 throws it. */
function sqliteError(code: string): Error {
  return new Database.SqliteError(`injected ${code}`, code)
}

/**
 * A better-sqlite3 connection whose writing statements throw `failing.code` while it is set: a
 * full disk (or a read-only or failing one) as the store sees it, without filling a disk.
 */
function failingDatabase(inner: Database.Database, failing: { code?: string }): SqliteDatabase {
  return {
    get open() {
      return inner.open
    },
    get inTransaction() {
      return inner.inTransaction
    },
    prepare(source) {
      const statement = inner.prepare(source)
      const writes = /^\s*(INSERT|UPDATE|DELETE|REPLACE)/i.test(source)
      const guard = (): void => {
        if (writes && failing.code !== undefined) throw sqliteError(failing.code)
      }
      const wrapped: SqliteStatement = {
        run: (...params) => {
          guard()
          return statement.run(...params)
        },
        get: (...params) => {
          guard()
          return statement.get(...params)
        },
        all: (...params) => statement.all(...params),
        safeIntegers(toggle) {
          statement.safeIntegers(toggle)
          return wrapped
        },
      }
      return wrapped
    },
    exec: (source) => inner.exec(source),
    pragma: (source, options) => inner.pragma(source, options),
    close: () => inner.close(),
  }
}

describe('storage failures a client cannot fix', () => {
  it('Given a SQLite store whose disk fills up (injected SQLITE_FULL), When a client pushes, Then 503 unavailable with Retry-After names the cause, /v1/health says the store cannot write, and both recover without a restart once there is room', async () => {
    const failing: { code?: string } = {}
    const inner = new Database(':memory:')
    running.push(async () => inner.close())
    const store = createSqliteStore({ database: failingDatabase(inner, failing) })
    const url = await startServer(store)
    expect((await push(url, [makeEvent('e1')])).status).toBe(200)

    failing.code = 'SQLITE_FULL'
    const refused = await push(url, [makeEvent('e2')])
    const health = await fetch(`${url}/v1/health`)

    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).not.toBeNull()
    const { error } = (await refused.json()) as { error: { code: string; message: string } }
    expect(error.code).toBe('unavailable')
    expect(error.message).toMatch(/disk .* is full/)
    expect(error.message).toContain('SQLITE_FULL')
    expect(error.message).not.toMatch(/INSERT|SELECT|events \(/)
    expect(health.status).toBe(503)
    expect(await health.json()).toMatchObject({
      status: 'unavailable',
      store: { writable: false, code: 'unavailable', message: expect.stringContaining('full') },
    })
    // A push of what the server already holds writes nothing, so it still succeeds.
    expect(await (await push(url, [makeEvent('e1')])).json()).toMatchObject({ stored: 0 })

    delete failing.code
    await new Promise((resolve) => setTimeout(resolve, 1100)) // the probe interval
    const healed = await fetch(`${url}/v1/health`)
    expect(healed.status).toBe(200)
    expect(await healed.json()).toEqual({ status: 'ok' })
    expect(await (await push(url, [makeEvent('e2')])).json()).toMatchObject({
      stored: 1,
      latestVersion: '2',
    })
  })

  it.each([
    ['SQLITE_READONLY', /read-only/],
    ['SQLITE_READONLY_DBMOVED', /read-only/],
    ['SQLITE_IOERR_FSYNC', /I\/O error/],
    ['SQLITE_BUSY', /locked/],
    ['SQLITE_CANTOPEN', /cannot be opened/],
  ])(
    'Given a store failing with %s, When a client pushes, Then 503 unavailable names the cause',
    async (code, cause) => {
      const inner = new Database(':memory:')
      running.push(async () => inner.close())
      const failing: { code?: string } = {}
      const store = createSqliteStore({ database: failingDatabase(inner, failing) })
      const url = await startServer(store)
      await store.loadOrCreateEpoch('e')
      failing.code = code

      const refused = await push(url, [makeEvent('e1')])

      expect(refused.status).toBe(503)
      const { error } = (await refused.json()) as { error: { code: string; message: string } }
      expect(error.code).toBe('unavailable')
      expect(error.message).toMatch(cause)
    },
  )
})

describe('deletes pass type filters', () => {
  for (const [name, open] of [
    ['memory', async () => createMemoryStore()],
    ['sqlite', () => openSqliteStore({ path: join(dir, `tombstones-${++files}.db`) })],
  ] as const) {
    it(`Given a replica syncing only TodoAdded that holds todo-1 (${name} server), When another replica deletes todo-1, Then the replica receives the tombstone, and nothing of other types`, async () => {
      const serverStore = await open()
      running.push(() => serverStore.close())
      const url = await startServer(serverStore)
      const replica = (store: EventStore, nodeId: string, filtered: boolean): SyncManager => {
        const manager = new SyncManager({
          store,
          transport: createHttpTransport({ url, retry: { retries: 2, initialMs: 10, maxMs: 50 } }),
          nodeId,
          ...(filtered ? { filters: [{ key: 'type', value: 'TodoAdded' }] } : {}),
        })
        running.push(() => manager.close())
        return manager
      }
      const writerStore = createMemoryStore()
      const readerStore = createMemoryStore()
      const writer = replica(writerStore, 'writer', false)
      const reader = replica(readerStore, 'reader', true)
      await writer.record({ type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'milk' } })
      await writer.record({ type: 'NoteAdded', aggregateId: 'note-1', data: { text: 'x' } })
      await writer.sync()
      await reader.sync()
      expect((await readerStore.load(null)).map((e) => e.event.type)).toEqual(['TodoAdded'])

      await writer.record(createTombstone({ aggregateId: 'todo-1' }))
      await writer.sync()
      await reader.sync()

      const held = (await readerStore.load(null)).map((e) => e.event)
      expect(held.map((e) => e.type)).toEqual(['TodoAdded', 'sync-kit:tombstone'])
      expect(held.filter(isTombstone).map((e) => e.aggregateId)).toEqual(['todo-1'])
    })
  }
})
