/**
 * Live mode over HTTP when the server is replaced (issue 9 §6, §7): a `sync-kit` HTTP server on
 * a memory store is stopped and a new one, on a fresh store (a new epoch), starts on the same
 * port; or a server on SQLite is restored from a backup (same epoch, a shorter log: the SSE
 * stream's cursor lies past its head, which the stream's `hello` reports). A live `SyncManager` with a one-hour interval must notice through its SSE stream, pull the
 * new log, re-send its own events, and keep receiving live events — with no interval sync.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import { createHttpTransport, createSyncHandler } from '../transports/http/index.js'
import { serve } from '../transports/http/node.js'
import type { RunningServer } from '../transports/http/node.js'
import type { EventStore } from '../types/index.js'
import { liveMode } from './live-mode.js'
import { SyncManager } from './sync-manager.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const ids = async (store: EventStore): Promise<string[]> =>
  (await store.load(null)).map((e) => e.event.id).sort()

async function server(
  port = 0,
  path?: string,
): Promise<{ server: RunningServer; store: EventStore }> {
  const store = path === undefined ? createMemoryStore() : await openSqliteStore({ path })
  if (path !== undefined) cleanups.push(() => store.close())
  const running = await serve({ handler: createSyncHandler({ store }), port, host: '127.0.0.1' })
  cleanups.push(() => running.close())
  return { server: running, store }
}

function client(url: string, nodeId: string, live: boolean) {
  const store = createMemoryStore()
  const manager = new SyncManager({
    store,
    transport: createHttpTransport({ url }),
    nodeId,
    intervalMs: 3_600_000,
    backoff: { initialMs: 20, maxMs: 200 },
    ...(live ? { features: [liveMode()] } : {}),
  })
  cleanups.push(() => manager.close())
  return { store, manager }
}

describe('SyncManager live mode over HTTP: the server is replaced on the same port', () => {
  it('Given a live client of an HTTP server, When the server is replaced by one on a fresh store and another client writes, Then the live client pulls it, re-sends its own event, and gets later events live', async () => {
    // Given a live client that pushed one event to the first server
    const first = await server()
    const port = Number(new URL(first.server.url).port)
    const live = client(first.server.url, 'live', true)
    const errors: unknown[] = []
    live.manager.on('error', (e) => errors.push(e))
    await live.manager.record({ id: 'own', type: 'T', aggregateId: 'x', data: {} })
    live.manager.start()
    await until('the first push', async () => (await ids(first.store)).includes('own'))

    // When the server is replaced by a new one on a fresh store, on the same port
    await first.server.close()
    const second = await server(port)
    const writer = client(second.server.url, 'writer', false)
    await writer.manager.record({ id: 'w1', type: 'T', aggregateId: 'y', data: {} })
    await writer.manager.sync()

    // Then the live client gets the new log's event and re-sends its own
    await until('w1 on the live client', async () => (await ids(live.store)).includes('w1'))
    await until('own on the new server', async () => (await ids(second.store)).includes('own'))

    // And a later event reaches it through its (new) live stream
    await writer.manager.record({ id: 'w2', type: 'T', aggregateId: 'y', data: {} })
    await writer.manager.sync()
    await until('w2 on the live client', async () => (await ids(live.store)).includes('w2'))
    expect(await ids(live.store)).toEqual(['own', 'w1', 'w2'])
  })

  it('Given a live client of a server on SQLite, When the server is restored from a backup that lacks events (same epoch) and another client writes, Then the live client notices the regression (its stream’s cursor is past the restored head), re-sends what the backup lacks and pulls what was written since', async () => {
    // Given a server on a SQLite file, and a backup of it taken after the live client's first event
    const dir = mkdtempSync(join(tmpdir(), 'sync-kit-live-restore-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'sync.db')
    let running = await server(0, path)
    const port = Number(new URL(running.server.url).port)
    const live = client(running.server.url, 'live', true)
    const epochs: unknown[] = []
    live.manager.on('epoch-changed', (e) => epochs.push(e))
    await live.manager.record({ id: 'a1', type: 'T', aggregateId: 'x', data: {} })
    live.manager.start()
    await until('a1 on the server', async () => (await ids(running.store)).includes('a1'))
    await running.server.close()
    await running.store.close()
    copyFileSync(path, join(dir, 'backup.db'))
    running = await server(port, path)
    for (const id of ['a2', 'a3', 'a4']) {
      await live.manager.record({ id, type: 'T', aggregateId: 'x', data: {} })
      await live.manager.sync()
    }
    expect(await ids(running.store)).toEqual(['a1', 'a2', 'a3', 'a4'])
    // An event of another replica that reaches the live client through its stream: the stream's
    // cursor is then past everything the backup lacks
    const before = client(running.server.url, 'before', false)
    await before.manager.record({ id: 'b0', type: 'T', aggregateId: 'z', data: {} })
    await before.manager.sync()
    await until('b0 on the live client', async () => (await ids(live.store)).includes('b0'))

    // When the server is restored from the backup (a1 only, same epoch) and another client writes
    await running.server.close()
    await running.store.close()
    copyFileSync(join(dir, 'backup.db'), path)
    running = await server(port, path)
    const writer = client(running.server.url, 'writer', false)
    await writer.manager.record({ id: 'w1', type: 'T', aggregateId: 'y', data: {} })
    await writer.manager.sync()

    // Then the live client re-sends what the backup lacks and pulls w1, reporting the regression
    const server2 = running.store
    await until('a2..a4, b0 re-sent', async () => (await ids(server2)).length === 6)
    await until('w1 on the live client', async () => (await ids(live.store)).includes('w1'))
    expect(await ids(server2)).toEqual(['a1', 'a2', 'a3', 'a4', 'b0', 'w1'])
    expect(epochs.length).toBeGreaterThan(0)

    // And later events reach it live again
    await writer.manager.record({ id: 'w2', type: 'T', aggregateId: 'y', data: {} })
    await writer.manager.sync()
    await until('w2 on the live client', async () => (await ids(live.store)).includes('w2'))
  })
})
