// `sync-kit serve --db postgres://…` as several processes on one real PostgreSQL database
// (SYNC_KIT_TEST_PG), behind a round-robin proxy: live clients writing through different
// instances all end with every event exactly once; SIGKILL of an instance mid-push loses no
// acknowledged event and leaves no batch in part; and an append held open on one instance is
// never skipped by a live stream of another. Without SYNC_KIT_TEST_PG these tests skip (the
// PostgreSQL store's conformance file says how to start a server); with CI=true they fail.
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

import { startSyncServer } from '../../examples/http-mode.js'
import type { ServerLogRecord, SyncServerProcess } from '../../examples/http-mode.js'
import { SyncManager, createMemoryStore, liveMode } from '../index.js'
import type { Event, EventStore, Transport } from '../index.js'
import { LOCK_CLASS, resolveNames } from '../stores/postgres/postgres-names.js'
import { createTestDatabase, postgresUrl } from '../stores/postgres/postgres.fixture.js'
import type { TestDatabase } from '../stores/postgres/postgres.fixture.js'
import { createHttpTransport } from '../transports/http/index.js'
import { startRoundRobinProxy } from './round-robin-proxy.fixture.js'
import type { RoundRobinProxy } from './round-robin-proxy.fixture.js'

const url = postgresUrl()

/** Small pools (the test cluster's connections are shared), short waits. */
const SERVE_FLAGS = ['--pg-pool-size', '4', '--shutdown-timeout', '2000', '--heartbeat', '5000']

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** One `sync-kit serve` process and the records it wrote. */
interface Instance {
  readonly name: string
  readonly process: SyncServerProcess
  readonly records: ServerLogRecord[]
}

/** A live client: a `SyncManager` on a memory store, its acknowledged pushes recorded. */
interface Client {
  readonly nodeId: string
  readonly manager: SyncManager
  readonly store: EventStore
  /** Ids of this client's events the server acknowledged. */
  readonly acked: Set<string>
  readonly errors: string[]
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

async function allEvents(store: EventStore): Promise<Event[]> {
  const out: Event[] = []
  for (let since = null as Parameters<EventStore['load']>[0]; ;) {
    const page = await store.load(since, { limit: 1000 })
    if (page.length === 0) return out
    for (const item of page) out.push(item.event)
    since = (page.at(-1) as (typeof page)[number]).version
  }
}

describe.skipIf(url === undefined)('sync-kit serve: several instances on one PostgreSQL', () => {
  let db: TestDatabase
  let admin: pg.Pool
  const cleanups: (() => Promise<unknown>)[] = []

  beforeAll(async () => {
    db = await createTestDatabase(url as string, 'instances')
    admin = db.pool({ max: 3 })
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
  })
  afterAll(async () => {
    await db.drop()
  })

  /** A fresh database of its own on the test server, dropped after the test. */
  async function freshDatabase(): Promise<string> {
    const name = `${db.name}_${cleanups.length}_${Math.random().toString(16).slice(2, 8)}`
    await admin.query(`CREATE DATABASE "${name}"`)
    cleanups.push(() => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
    const dbUrl = new URL(db.url)
    dbUrl.pathname = `/${name}`
    return dbUrl.toString()
  }

  /** Starts `count` instances on one database at once (they migrate once and agree on one epoch). */
  async function startInstances(dbUrl: string, count: number): Promise<Instance[]> {
    const instances = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const name = `sync-kit-test-${i + 1}`
        const records: ServerLogRecord[] = []
        const at = new URL(dbUrl)
        at.searchParams.set('application_name', name)
        const server = await startSyncServer({
          db: at.toString(),
          args: SERVE_FLAGS,
          onLog: (record) => records.push(record),
          startTimeoutMs: 45_000,
        })
        cleanups.push(() => server.stop())
        return { name, process: server, records }
      }),
    )
    const epochs = instances.map((i) => i.records.find((r) => r['msg'] === 'listening')?.['epoch'])
    expect(new Set(epochs).size).toBe(1)
    return instances
  }

  async function proxyTo(instances: readonly Instance[]): Promise<RoundRobinProxy> {
    const proxy = await startRoundRobinProxy(instances.map((i) => i.process.url))
    cleanups.push(() => proxy.close())
    return proxy
  }

  function client(nodeId: string, at: string): Client {
    const store = createMemoryStore()
    const inner = createHttpTransport({ url: at, retry: { retries: 8, initialMs: 50, maxMs: 500 } })
    const acked = new Set<string>()
    const transport: Transport = {
      push: async (events, options) => {
        const result = await inner.push(events, options)
        for (const e of events) if (e.metadata?.origin === nodeId) acked.add(e.id)
        return result
      },
      pull: (since, options) => inner.pull(since, options),
      latestVersion: (options) => inner.latestVersion(options),
      subscribe: (handler, options) => inner.subscribe(handler, options),
      parseVersion: (value) => inner.parseVersion(value),
      close: () => inner.close(),
    }
    const manager = new SyncManager({
      store,
      transport,
      nodeId,
      features: [liveMode()],
      backoff: { initialMs: 50, maxMs: 500 },
    })
    const errors: string[] = []
    manager.on('error', (error) => errors.push(String(error)))
    manager.start()
    cleanups.push(() => manager.close())
    return { nodeId, manager, store, acked, errors }
  }

  /** Each client records `count` events, one every `everyMs`, syncing after each. */
  async function write(clients: readonly Client[], count: number, everyMs: number): Promise<void> {
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < count; i++) {
          await c.manager.record({ type: 'Noted', aggregateId: `doc-${i % 5}`, data: { i } })
          c.manager.sync().catch(() => undefined)
          await sleep(everyMs)
        }
      }),
    )
  }

  /** Waits until every client holds `expected` events, then checks each holds each once. */
  async function converged(clients: readonly Client[], expected: ReadonlySet<string>) {
    await until(
      `every client to hold all ${expected.size} events`,
      async () => {
        const counts = await Promise.all(
          clients.map(async (c) => (await allEvents(c.store)).length),
        )
        return counts.every((n) => n >= expected.size)
      },
      40_000,
    )
    for (const c of clients) {
      const held = (await allEvents(c.store)).map((e) => e.id)
      expect(held.length, c.nodeId).toBe(expected.size)
      expect(new Set(held), c.nodeId).toEqual(expected)
    }
  }

  async function serverIds(dbUrl: string): Promise<string[]> {
    const pool = new pg.Pool({ connectionString: dbUrl, max: 1 })
    try {
      const result = await pool.query<{ id: string }>('SELECT id FROM sync_kit_events ORDER BY seq')
      return result.rows.map((r) => r.id)
    } finally {
      await pool.end()
    }
  }

  const pushesStored = (instance: Instance): number =>
    instance.records.filter(
      (r) => r['msg'] === 'request' && r['method'] === 'POST' && Number(r['stored']) > 0,
    ).length
  const streamsOpened = (instance: Instance): number =>
    instance.records.filter((r) => r['msg'] === 'request' && r['stream'] === 'open').length

  it('Given 3 instances behind a round-robin proxy, When live clients write through different instances, Then every client ends with every event exactly once', async () => {
    const dbUrl = await freshDatabase()
    const instances = await startInstances(dbUrl, 3)
    const proxy = await proxyTo(instances)
    // Given six live clients, whose requests the proxy spreads over the instances
    const clients = Array.from({ length: 6 }, (_, i) => client(`c${i}`, proxy.url))
    await until(
      'every live stream to open',
      () => instances.reduce((n, i) => n + streamsOpened(i), 0) >= clients.length,
    )
    // When each records 15 events, syncing after each
    await write(clients, 15, 20)
    const recorded = new Set(
      (await Promise.all(clients.map((c) => allEvents(c.store))))
        .flat()
        .filter((e) => e.metadata?.origin !== undefined)
        .map((e) => e.id),
    )
    expect(recorded.size).toBeGreaterThanOrEqual(90)
    // Then every client ends with every event exactly once, and so does the database
    await converged(clients, recorded)
    const stored = await serverIds(dbUrl)
    expect(stored.length).toBe(90)
    expect(new Set(stored).size).toBe(90)
    // And the writes and the live streams really went through different instances
    expect(instances.filter((i) => pushesStored(i) > 0).length).toBeGreaterThanOrEqual(2)
    expect(instances.filter((i) => streamsOpened(i) > 0).length).toBeGreaterThanOrEqual(2)
    expect(proxy.routed.every((n) => n > 0)).toBe(true)
    for (const i of instances) {
      expect(
        i.records.filter((r) => r['level'] === 'error'),
        i.name,
      ).toEqual([])
    }
  }, 60_000)

  it('Given live clients writing through the proxy, When one instance is SIGKILLed mid-push, Then no acknowledged event is lost, no batch is stored in part, and the clients carry on through the others', async () => {
    const dbUrl = await freshDatabase()
    const instances = await startInstances(dbUrl, 3)
    const proxy = await proxyTo(instances)
    const clients = Array.from({ length: 4 }, (_, i) => client(`k${i}`, proxy.url))
    const writing = write(clients, 25, 40)
    await sleep(300)

    // Given a push of 200 events that instance 2 is storing: its statement waits for the append
    // lock, which the test holds (so the kill lands mid-push, inside the database)
    const victim = instances[1] as Instance
    const names = resolveNames('public', undefined)
    // Advisory locks belong to one database: lock and count in the instances' own.
    const direct = new pg.Pool({ connectionString: dbUrl, max: 2 })
    cleanups.push(() => direct.end())
    const batchCount = async (): Promise<number> => {
      const result = await direct.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM sync_kit_events WHERE id LIKE 'batch-%'",
      )
      return Number(result.rows[0]?.n)
    }
    const locker = await direct.connect()
    const batch = Array.from({ length: 200 }, (_, i) => ({
      id: `batch-${i}`,
      type: 'Imported',
      aggregateId: 'import',
      data: { i },
    }))
    let victimPush: Promise<unknown>
    try {
      await locker.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS.append, names.lockKey])
      victimPush = fetch(`${victim.process.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: batch }),
      }).then(
        (response) => `answered ${response.status}`,
        () => 'cut off',
      )
      await until('the push to wait for the append lock', async () => {
        const waiting = await admin.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE '%sync_kit_events%'",
          [victim.name],
        )
        return waiting.rows.length > 0
      })
      // When the instance is killed
      process.kill(victim.process.pid, 'SIGKILL')
      expect((await victim.process.stop()).signal).toBe('SIGKILL')
      expect(await victimPush).toBe('cut off')
      expect(await batchCount()).toBe(0)
    } finally {
      await locker.query('SELECT pg_advisory_unlock_all()')
      locker.release()
    }
    // Then the batch is stored whole or not at all (its orphaned statement may still commit)
    await until('the killed instance to leave the database', async () => {
      const left = await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [
        victim.name,
      ])
      return left.rows.length === 0
    })
    const afterKill = await batchCount()
    expect([0, 200]).toContain(afterKill)
    // and the pusher, told nothing, retries through the proxy: stored exactly once
    const retried = await createHttpTransport({ url: proxy.url }).push(batch)
    expect(retried.stored + retried.duplicates).toBe(200)
    expect(retried.stored).toBe(200 - afterKill)

    // And the clients carry on through the other instances
    await writing
    const recorded = new Set(
      (await Promise.all(clients.map((c) => allEvents(c.store))))
        .flat()
        .filter((e) => e.metadata?.origin !== undefined)
        .map((e) => e.id),
    )
    for (const e of batch) recorded.add(e.id)
    await converged(clients, recorded)
    const stored = await serverIds(dbUrl)
    expect(stored.length).toBe(recorded.size)
    expect(new Set(stored)).toEqual(recorded)
    // No acknowledged event is lost
    for (const c of clients) for (const id of c.acked) expect(stored).toContain(id)
    expect(clients.reduce((n, c) => n + c.acked.size, 0)).toBe(100)
  }, 60_000)

  it('Given an SSE reader on one instance and an append held open on another, When others push meanwhile, Then the reader never moves past the held event and gets every event once, in order', async () => {
    const dbUrl = await freshDatabase()
    const [holder, reader] = (await startInstances(dbUrl, 2)) as [Instance, Instance]
    const direct = new pg.Pool({ connectionString: dbUrl, max: 2 })
    cleanups.push(() => direct.end())
    // A trigger holds the insert of "held" (after the append lock and its sequence number were
    // taken) until the test lets it go.
    await direct.query(`
      CREATE FUNCTION hold_late() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id = 'held' THEN PERFORM pg_advisory_xact_lock_shared(4242); END IF; RETURN NEW; END $$;
      CREATE TRIGGER hold_late BEFORE INSERT ON sync_kit_events FOR EACH ROW EXECUTE FUNCTION hold_late()`)
    const push = (instance: Instance, ids: string[]) =>
      createHttpTransport({ url: instance.process.url }).push(
        ids.map((id) => ({ id, type: 'Noted', aggregateId: 'a', data: { id } })),
      )
    await push(reader, ['before'])

    // Given a live stream on the reader instance, from the start
    const seen: { id: string; version: string }[] = []
    const streaming = createHttpTransport({ url: reader.process.url })
    const stream = await streaming.subscribe?.(
      (items) => {
        for (const item of items) seen.push({ id: item.event.id, version: item.version.toString() })
      },
      { since: streaming.parseVersion('0') },
    )
    await until('the stream to replay the first event', () => seen.length === 1)
    // When an append through the holder instance takes its number and is held open
    const gate = await direct.connect()
    let held: Promise<unknown>
    let others: Promise<unknown>
    let othersDone = false
    try {
      await gate.query('SELECT pg_advisory_lock(4242)')
      held = push(holder, ['held'])
      await until('the held append to wait inside the database', async () => {
        const waiting = await admin.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [holder.name],
        )
        return waiting.rows.length > 0
      })
      // and others push through both instances meanwhile
      others = Promise.all([push(reader, ['r1', 'r2']), push(holder, ['h1'])]).then(() => {
        othersDone = true
      })
      await sleep(1500)
      // Then the reader saw nothing past the held event, and nobody was acknowledged past it
      expect(seen.map((s) => s.id)).toEqual(['before'])
      expect(othersDone).toBe(false)
    } finally {
      await gate.query('SELECT pg_advisory_unlock_all()')
      gate.release()
    }
    await held
    await others
    // And once it commits, the reader gets every event exactly once, in version order
    await until('the stream to deliver every event', () => seen.length >= 5)
    await sleep(300)
    expect(seen.map((s) => s.id).slice(0, 2)).toEqual(['before', 'held'])
    expect(seen.map((s) => s.id).sort()).toEqual(['before', 'h1', 'held', 'r1', 'r2'])
    const versions = seen.map((s) => BigInt(s.version))
    expect(versions).toEqual([...versions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
    await stream?.unsubscribe()
  }, 60_000)
})
