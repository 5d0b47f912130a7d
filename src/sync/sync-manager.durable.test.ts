/**
 * What the SyncManager keeps across a restart (issue 9 §5, §10), with real components: SQLite
 * files for the replicas, the HTTP server for the remote. Each test names the scenario that lost
 * something before: an event refused by the remote counted as pushed and forgotten, a pulled event
 * the local store refused skipped for good, undecided conflicts lost with the process.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import type { SqliteStore } from '../stores/sqlite/index.js'
import { createHttpTransport, createSyncHandler } from '../transports/http/index.js'
import { serve } from '../transports/http/node.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { ConflictResolver, EventStore, Transport } from '../types/index.js'
import { SyncManager } from './sync-manager.js'
import type { ConflictReport } from './sync-options.js'
import { durableConflicts } from './durable-conflicts.js'
import { refusalList } from './refusal-list.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sync-kit-durable-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function sqlite(path: string): Promise<SqliteStore> {
  const store = await openSqliteStore({ path })
  cleanups.push(() => store.close())
  return store
}

/** A sync-kit HTTP server on a memory store, with a per-event size limit and a drift bound. */
async function httpServer(maxEventBytes: number, maxDriftMs?: number) {
  const store = createMemoryStore()
  const handler = createSyncHandler({
    store,
    maxEventBytes,
    ...(maxDriftMs === undefined ? {} : { maxDriftMs }),
  })
  const server = await serve({ handler, port: 0 })
  cleanups.push(() => server.close())
  return { store, url: server.url }
}

function manager(
  store: EventStore,
  transport: Transport,
  extra: { resolver?: ConflictResolver; clock?: { now(): number } } = {},
) {
  const features = [refusalList(), durableConflicts()]
  const m = new SyncManager({ store, transport, nodeId: 'a', features, ...extra })
  const errors: unknown[] = []
  const conflicts: ConflictReport[] = []
  m.on('error', (e) => errors.push(e))
  m.on('conflict', (c) => conflicts.push(c))
  cleanups.push(() => m.close())
  return { manager: m, errors, conflicts }
}

describe('SyncManager: refusals survive a restart', () => {
  it('Given 1,000 events of which one is over the server’s maxEventBytes, When syncing over HTTP, Then 999 are pushed, the oversized one is reported with its id, code and size and listed, also after a restart, until dropped', async () => {
    // Given a replica on a SQLite file with 1,000 events, one of them oversized
    const dir = tempDir()
    const remote = await httpServer(2_000)
    const store = await sqlite(join(dir, 'a.db'))
    const a = manager(store, createHttpTransport({ url: remote.url }))
    for (let i = 0; i < 1_000; i++) {
      const data = i === 500 ? { text: 'x'.repeat(5_000) } : { i }
      await a.manager.record({ id: `e${i}`, type: 'T', aggregateId: 'x', data })
    }

    // When it syncs
    const result = await a.manager.sync()

    // Then the oversized event is not counted, reported with its id, code and size, and listed
    expect(result.pushed).toBe(999)
    expect((await remote.store.load(null)).map((e) => e.event.id)).not.toContain('e500')
    const reported = a.errors.filter((e) => isSyncKitError(e, 'payload-too-large'))
    expect(reported).toHaveLength(1)
    const bytes = new TextEncoder().encode(
      JSON.stringify((await store.load(null))[500]?.event),
    ).length
    expect((reported[0] as SyncKitError).details).toMatchObject({ eventId: 'e500', bytes })
    expect((reported[0] as Error).message).toContain('"e500"')
    const refusals = await a.manager.refusals()
    expect(refusals.map((r) => [r.event.id, r.by, r.code, r.bytes])).toEqual([
      ['e500', 'remote', 'payload-too-large', bytes],
    ])
    expect((await a.manager.sync()).pushed).toBe(0)

    // When the replica restarts on the same file, the refusal is still listed
    await a.manager.close()
    await store.close()
    const reopened = await sqlite(join(dir, 'a.db'))
    const b = manager(reopened, createHttpTransport({ url: remote.url }))
    expect((await b.manager.refusals()).map((r) => r.event.id)).toEqual(['e500'])

    // When the app fixes it (a smaller copy under a new id) and drops it, Then it is gone
    const [refused] = await b.manager.refusals()
    await b.manager.record({ id: 'e500-fixed', type: 'T', aggregateId: 'x', data: { cut: true } })
    expect(refused && (await b.manager.dropRefusal(refused.event.id))).toBe(true)
    expect(await b.manager.dropRefusal('e500')).toBe(false)
    expect((await b.manager.sync()).pushed).toBe(1)
    expect(await b.manager.refusals()).toEqual([])
  })

  it('Given a replica whose clock runs an hour ahead, When the HTTP server refuses its event beyond its drift bound, Then the refusal is listed with code clock-drift, and the others still arrive', async () => {
    // Given a server with a one-minute drift bound and a replica whose clock is an hour ahead
    const remote = await httpServer(1_000_000, 60_000)
    let skewMs = 0
    const clock = { now: () => Date.now() + skewMs }
    const a = manager(
      await sqlite(join(tempDir(), 'a.db')),
      createHttpTransport({ url: remote.url }),
      {
        clock,
      },
    )
    await a.manager.record({ id: 'fine', type: 'T', aggregateId: 'x', data: 1 })
    skewMs = 3_600_000
    await a.manager.record({ id: 'ahead', type: 'T', aggregateId: 'y', data: 2 })

    // When it syncs
    const result = await a.manager.sync()

    // Then only the one stamped beyond the bound is refused, reported and listed
    expect(result.pushed).toBe(1)
    expect((await remote.store.load(null)).map((e) => e.event.id)).toEqual(['fine'])
    const refusals = await a.manager.refusals()
    expect(refusals.map((r) => [r.event.id, r.by, r.code])).toEqual([
      ['ahead', 'remote', 'clock-drift'],
    ])
    expect(a.errors.filter((e) => isSyncKitError(e, 'clock-drift'))).toHaveLength(1)
  })

  it('Given a refused event, When the remote’s limit is raised and the app calls retryRefusals, Then it is pushed and leaves the list', async () => {
    // Given a remote that refuses one event as too large
    const hub = createLoopbackHub()
    const inner = hub.connect('a')
    let limit = 300
    const limited: Transport = {
      ...inner,
      push: (events, options) =>
        events.some((e) => JSON.stringify(e).length > limit)
          ? Promise.reject(new SyncKitError('payload-too-large', 'too big', { limitBytes: limit }))
          : inner.push(events, options),
      pull: (since, options) => inner.pull(since, options),
      latestVersion: (options) => inner.latestVersion(options),
      parseVersion: (value) => inner.parseVersion(value),
    }
    const store = await sqlite(join(tempDir(), 'a.db'))
    const a = manager(store, limited)
    await a.manager.record({ id: 'big', type: 'T', aggregateId: 'x', data: 'z'.repeat(400) })
    await a.manager.record({ id: 'small', type: 'T', aggregateId: 'x', data: 1 })
    expect((await a.manager.sync()).pushed).toBe(1)

    // When the limit is raised and the app retries
    limit = 10_000
    const retried = await a.manager.retryRefusals()

    // Then it went through and nothing is listed
    expect(retried.pushed).toBe(1)
    expect(await a.manager.refusals()).toEqual([])
    expect((await hub.store.load(null)).map((e) => e.event.id)).toEqual(['small', 'big'])
  })
})

describe('SyncManager: pulled events the local store refuses are kept and retried', () => {
  it('Given a pulled event the local store refuses, When syncing and restarting, Then the cursor moves on but the event is listed, reported on every sync, and stored once the store accepts it', async () => {
    // Given a remote holding three events, and a local SQLite store that refuses type "Later"
    const hub = createLoopbackHub()
    await hub.connect('other').push([
      { id: 'p1', type: 'T', aggregateId: 'q', data: {} },
      { id: 'p2', type: 'Later', aggregateId: 'q', data: {} },
      { id: 'p3', type: 'T', aggregateId: 'q', data: {} },
    ])
    const path = join(tempDir(), 'a.db')
    let accepts = false
    // (no storeBatch: one event at a time, as stores without the capability do)
    const refusing = (inner: SqliteStore): EventStore => ({
      getCheckpoint: (key, o) => inner.getCheckpoint(key, o),
      setCheckpoint: (key, value, o) => inner.setCheckpoint(key, value, o),
      getState: (key, o) => inner.getState(key, o),
      setState: (key, value, o) => inner.setState(key, value, o),
      load: (since, o) => inner.load(since, o),
      loadByAggregate: (id, since, o) => inner.loadByAggregate(id, since, o),
      latestVersion: (o) => inner.latestVersion(o),
      parseVersion: (value) => inner.parseVersion(value),
      close: () => inner.close(),
      store: (event, o) =>
        event.type === 'Later' && !accepts
          ? Promise.reject(new SyncKitError('invalid-event', 'not yet', { eventId: event.id }))
          : inner.store(event, o),
    })
    const first = await sqlite(path)
    const a = manager(refusing(first), hub.connect('a'))

    // When it syncs twice
    const synced = await a.manager.sync()
    await a.manager.sync()

    // Then the others arrived, the refused one is listed and was reported on each sync
    expect(synced.pulled).toBe(2)
    expect((await a.manager.refusals()).map((r) => [r.event.id, r.by, r.code])).toEqual([
      ['p2', 'local', 'invalid-event'],
    ])
    const reports = a.errors.filter((e) => isSyncKitError(e, 'invalid-event'))
    expect(reports.map((e) => (e as SyncKitError<'invalid-event'>).details.eventId)).toEqual([
      'p2',
      'p2',
    ])

    // When the replica restarts and its store accepts the event now
    await a.manager.close()
    await first.close()
    accepts = true
    const b = manager(refusing(await sqlite(path)), hub.connect('a2'))
    const after = await b.manager.sync()

    // Then it is stored, counted as pulled, and no longer listed
    expect(after.pulled).toBe(1)
    expect(await b.manager.refusals()).toEqual([])
    expect(b.errors).toEqual([])
  })
})

describe('SyncManager: the undecided conflict queue survives a restart', () => {
  it('Given a sync aborted while a conflict was pending, When the replica restarts on its SQLite file, Then the new manager decides that conflict', async () => {
    // Given a conflict between a local and a remote edit, whose decision is cut short
    const hub = createLoopbackHub()
    const path = join(tempDir(), 'a.db')
    const first = await sqlite(path)
    const controller = new AbortController()
    const aborting: ConflictResolver = {
      resolve() {
        controller.abort()
        return Promise.reject(new SyncKitError('aborted', '[test] resolve aborted', {}))
      },
    }
    const a = manager(first, hub.connect('a'), { resolver: aborting })
    const b = new SyncManager({
      store: createMemoryStore(),
      transport: hub.connect('b'),
      nodeId: 'b',
    })
    cleanups.push(() => b.close())
    await a.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'a' } })
    await b.record({ type: 'T', aggregateId: 'x', data: { v: 'b' } })
    await b.sync()
    const aborted = await a.manager.sync({ signal: controller.signal }).catch((e: unknown) => e)
    expect(isSyncKitError(aborted, 'aborted')).toBe(true)

    // When the process restarts: a new manager on the reopened file
    await a.manager.close()
    await first.close()
    const restarted = manager(await sqlite(path), hub.connect('a2'))
    const result = await restarted.manager.sync()

    // Then the pending conflict is decided by the new manager
    expect(result).toMatchObject({ conflicts: 1, resolved: 1 })
    expect(restarted.conflicts.map((c) => c.conflict.aggregateId)).toEqual(['x'])
  })
})
