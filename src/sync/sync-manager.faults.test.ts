/**
 * Adversarial regression tests for the SyncManager: failures and races between storing pulled
 * events, advancing checkpoints, resolving conflicts and recording local events. Each test names
 * the scenario that once broke.
 */
import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { SyncKitErrorDetails } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type { MemoryStore } from '../stores/memory/index.js'
import { TestClock } from '../testing/test-clock.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { ConflictResolver, Event, EventStore, Transport } from '../types/index.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import { causalRelation } from '../causality/event-relation.js'
import { SyncManager } from './sync-manager.js'
import type { ConflictReport, SyncManagerOptions } from './sync-options.js'
import { liveMode } from './live-mode.js'

let ids = 0
const nextId = (): string => `f${++ids}`

function replica(
  hub: ReturnType<typeof createLoopbackHub>,
  nodeId: string,
  extra: Partial<SyncManagerOptions> = {},
) {
  const store = extra.store ?? createMemoryStore()
  const conflicts: ConflictReport[] = []
  const errors: unknown[] = []
  const manager = new SyncManager({
    store,
    transport: hub.connect(nodeId),
    nodeId,
    generateId: nextId,
    ...extra,
  })
  manager.on('conflict', (c) => conflicts.push(c))
  manager.on('error', (e) => errors.push(e))
  return { store, manager, conflicts, errors }
}

/** A store that forwards to a memory store, with hooks to inject faults. */
function wrapStore(
  inner: MemoryStore,
  hooks: {
    batch?: boolean
    store?: (event: Event) => Promise<void>
    setCheckpoint?: (direction: string) => void
  },
): EventStore {
  const wrapped: EventStore = {
    async store(event, options) {
      const result = await inner.store(event, options)
      await hooks.store?.(event)
      return result
    },
    load: (since, options) => inner.load(since, options),
    loadByAggregate: (aggregateId, since, options) =>
      inner.loadByAggregate(aggregateId, since, options),
    latestVersion: (options) => inner.latestVersion(options),
    parseVersion: (value) => inner.parseVersion(value),
    getCheckpoint: (key, options) => inner.getCheckpoint(key, options),
    async setCheckpoint(key, value, options) {
      hooks.setCheckpoint?.(key.direction)
      await inner.setCheckpoint(key, value, options)
    },
    close: () => inner.close(),
  }
  if (hooks.batch === true) {
    wrapped.storeBatch = (events, options) => inner.storeBatch(events, options)
  }
  return wrapped
}

describe('SyncManager under faults and races', () => {
  it('Given a recorded event, When the caller mutates its input data afterwards, Then neither the returned event nor a later conflict sees the change', async () => {
    const hub = createLoopbackHub()
    const a = replica(hub, 'a')
    const b = replica(hub, 'b')
    const data = { title: 'original' }
    const recorded = await a.manager.record({ type: 'T', aggregateId: 'x', data })
    data.title = 'mutated after record'

    expect(recorded.event.data).toEqual({ title: 'original' })
    await b.manager.record({ type: 'T', aggregateId: 'x', data: { title: 'b' } })
    await b.manager.sync()
    await a.manager.sync()

    expect(a.conflicts).toHaveLength(1)
    expect(a.conflicts[0]?.conflict.local.event.data).toEqual({ title: 'original' })
  })

  it('Given a sync aborted while resolving the first conflict of a page, When the replica then edits another pulled aggregate, Then its edit causally follows the pulled event', async () => {
    const hub = createLoopbackHub()
    const controller = new AbortController()
    const aborting: ConflictResolver = {
      async resolve() {
        controller.abort()
        throw new SyncKitError('aborted', '[test] resolve aborted', {})
      },
    }
    const a = replica(hub, 'a', { resolver: aborting })
    const b = replica(hub, 'b')
    await a.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'a' } })
    await b.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'b' } })
    const onY = await b.manager.record({ type: 'T', aggregateId: 'y', data: { v: 'b' } })
    await b.manager.sync()

    const error = await a.manager.sync({ signal: controller.signal }).catch((e: unknown) => e)
    expect(isSyncKitError(error, 'aborted')).toBe(true)
    // The page (and its checkpoint) was stored before the resolver ran.
    expect((await a.store.load(null)).map((e) => e.event.id)).toContain(onY.event.id)

    const edit = await a.manager.record({ type: 'T', aggregateId: 'y', data: { v: 'a, after b' } })
    expect(causalRelation(onY.event, edit.event)).toBe('before')
    expect(String(edit.event.metadata?.hlc) > String(onY.event.metadata?.hlc)).toBe(true)
  })

  it('Given a sync aborted while a conflict was being resolved, When the replica syncs again, Then that conflict is resolved then rather than lost', async () => {
    const hub = createLoopbackHub()
    const controller = new AbortController()
    let calls = 0
    const abortFirst: ConflictResolver = {
      async resolve(conflict) {
        calls++
        if (calls === 1) {
          controller.abort()
          throw new SyncKitError('aborted', '[test] resolve aborted', {})
        }
        return { resolvedEvents: [conflict.remote.event], decision: 'keep-remote', reasons: [] }
      },
    }
    const a = replica(hub, 'a', { resolver: abortFirst })
    const b = replica(hub, 'b')
    await a.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'a' } })
    const fromB = await b.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'b' } })
    await b.manager.sync()
    const aborted = await a.manager.sync({ signal: controller.signal }).catch((e: unknown) => e)
    expect(isSyncKitError(aborted, 'aborted')).toBe(true)
    expect(a.conflicts).toHaveLength(0)

    const retry = await a.manager.sync()

    expect(retry).toMatchObject({ pulled: 0, conflicts: 1, resolved: 1 })
    expect(a.conflicts.map((c) => c.conflict.remote.event.id)).toEqual([fromB.event.id])
    expect(await a.manager.sync()).toMatchObject({ conflicts: 0, resolved: 0 })
  })

  it('Given a store that fails setCheckpoint after storing a pulled page, When the sync is retried, Then the conflict in that page is still detected and later edits follow it', async () => {
    const hub = createLoopbackHub()
    let failures = 1
    const store = wrapStore(createMemoryStore(), {
      setCheckpoint(direction) {
        if (direction === 'pull' && failures-- > 0) {
          throw new SyncKitError('unavailable', '[test] disk hiccup', {})
        }
      },
    })
    const a = replica(hub, 'a', { store })
    const b = replica(hub, 'b')
    await a.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'a' } })
    const fromB = await b.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'b' } })
    await b.manager.sync()

    const error = await a.manager.sync().catch((e: unknown) => e)
    expect(isSyncKitError(error, 'unavailable')).toBe(true)
    await a.manager.sync()

    expect(a.conflicts).toHaveLength(1)
    expect(a.conflicts[0]?.conflict.remote.event.id).toBe(fromB.event.id)
    const edit = await a.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'a2' } })
    expect(causalRelation(fromB.event, edit.event)).toBe('before')
  })

  it('Given a pulled page the store refuses as a batch, When a local event is recorded while the page is stored one by one, Then that local event is still pushed', async () => {
    const hub = createLoopbackHub()
    const inner = createMemoryStore()
    // The local 'dup' differs from the hub's: storeBatch refuses the page, the manager falls back.
    await inner.store({ id: 'dup', type: 'T', aggregateId: 'z', data: { local: true } })
    await hub.connect('other').push([
      { id: 'p1', type: 'T', aggregateId: 'q', data: {} },
      { id: 'dup', type: 'T', aggregateId: 'z', data: { remote: true } },
      { id: 'p2', type: 'T', aggregateId: 'q', data: {} },
    ])
    let recordedId: string | undefined
    const late: { manager?: SyncManager } = {}
    const store = wrapStore(inner, {
      batch: true,
      async store(event) {
        if (event.id === 'p1' && recordedId === undefined && late.manager !== undefined) {
          const local = await late.manager.record({ type: 'T', aggregateId: 'l', data: { v: 1 } })
          recordedId = local.event.id
        }
      },
    })
    const a = replica(hub, 'a', { store })
    late.manager = a.manager

    await a.manager.sync()
    await a.manager.sync()

    expect(recordedId).toBeDefined()
    const onHub = (await hub.store.load(null)).map((e) => e.event.id)
    expect(onHub).toContain(recordedId)
    expect(a.errors.every((e) => isSyncKitError(e, 'event-id-conflict'))).toBe(true)
  })

  it('Given a resolver that returns an invalid event, When the conflict is resolved, Then it is reported as resolver-failed and the sync completes', async () => {
    const hub = createLoopbackHub()
    const broken: ConflictResolver = {
      async resolve() {
        return {
          resolvedEvents: [{ id: '', type: 'T', aggregateId: 'x', data: null }],
          decision: 'merge',
          reasons: [],
        }
      },
    }
    const a = replica(hub, 'a', { resolver: broken })
    const b = replica(hub, 'b')
    await a.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'a' } })
    await b.manager.record({ type: 'T', aggregateId: 'x', data: { v: 'b' } })
    const onY = await b.manager.record({ type: 'T', aggregateId: 'y', data: { v: 'b' } })
    await b.manager.sync()

    const result = await a.manager.sync()

    expect(result).toMatchObject({ pulled: 2, conflicts: 1, resolved: 0 })
    expect(a.errors.some((e) => isSyncKitError(e, 'resolver-failed'))).toBe(true)
    const edit = await a.manager.record({ type: 'T', aggregateId: 'y', data: { v: 'a' } })
    expect(causalRelation(onY.event, edit.event)).toBe('before')
  })

  it('Given live mode, When start(), stop() and start() follow each other at once, Then the manager ends up with a live subscription', async () => {
    const clock = new TestClock()
    const hub = createLoopbackHub()
    const a = replica(hub, 'a', { clock, timers: clock, features: [liveMode()] })

    a.manager.start()
    await a.manager.stop()
    a.manager.start()
    await clock.advance(0)
    await hub.settle()

    expect(a.manager.isRunning).toBe(true)
    expect(hub.subscriptions).toBe(1)
    await a.manager.stop()
    await hub.settle()
    expect(hub.subscriptions).toBe(0)
    expect(a.errors).toEqual([])
  })

  it('Given a replica whose store was wiped but kept its node id, When it pulls events recorded under that id, Then it reports the reuse once as an error', async () => {
    const hub = createLoopbackHub()
    const before = replica(hub, 'a')
    await before.manager.record({ type: 'T', aggregateId: 'x', data: { v: 1 } })
    await before.manager.record({ type: 'T', aggregateId: 'x', data: { v: 2 } })
    await before.manager.sync()
    await before.manager.close()

    const after = replica(hub, 'a')
    await after.manager.sync()
    await after.manager.sync()

    const reports = after.errors.filter((e) => isSyncKitError(e, 'invalid-argument'))
    expect(reports).toHaveLength(1)
    expect((reports[0] as Error).message).toMatch(/node id "a"/)
    // Pulling caught the clock up: what it records now does not reuse a dot.
    const next = await after.manager.record({ type: 'T', aggregateId: 'x', data: { v: 3 } })
    expect(next.event.metadata?.causal).toBe('a:3')
  })

  it('Given a remote that ignores since and always answers hasMore, When syncing, Then the sync fails with protocol instead of pulling forever', async () => {
    let pulls = 0
    const stuck: Transport = {
      push: async (events) => ({ stored: events.length, duplicates: 0 }),
      async pull() {
        pulls++
        if (pulls > 50) throw new Error('still pulling: the manager loops')
        const event = { id: 'same', type: 'T', aggregateId: 'a', data: null }
        return { events: [{ event, version: new SequenceVersion(1) }], hasMore: true }
      },
      latestVersion: async () => new SequenceVersion(1),
      parseVersion: (value) => SequenceVersion.parse(value),
      close: async () => undefined,
    }
    const store = createMemoryStore()
    const manager = new SyncManager({ store, transport: stuck, nodeId: 'a' })

    const error = await manager.sync().catch((e: unknown) => e)

    expect(isSyncKitError(error, 'protocol')).toBe(true)
    expect(pulls).toBe(2)
    expect((await store.load(null)).map((e) => e.event.id)).toEqual(['same'])
  })

  it('Given a remote whose epoch flips on every call (two servers with separate logs behind one address), When syncing, Then push and pull give up with unavailable instead of restarting forever', async () => {
    for (const direction of ['push', 'pull'] as const) {
      let calls = 0
      const epoch = (): string => (calls % 2 === 0 ? 'E1' : 'E2')
      const flapping: Transport = {
        async push(events, options) {
          calls++
          if (calls > 50) throw new Error('still pushing: the manager loops')
          const current = epoch()
          if (options?.ifEpoch !== undefined && options.ifEpoch !== current) {
            const details: SyncKitErrorDetails['epoch-mismatch'] = {
              expected: options.ifEpoch,
              actual: current,
            }
            throw new SyncKitError('epoch-mismatch', '[test] another server', details)
          }
          return { stored: events.length, duplicates: 0, epoch: current }
        },
        async pull() {
          calls++
          if (calls > 50) throw new Error('still pulling: the manager loops')
          const event = { id: `r${calls}`, type: 'T', aggregateId: 'a', data: null }
          return {
            events: [{ event, version: new SequenceVersion(calls) }],
            hasMore: false,
            epoch: epoch(),
          }
        },
        latestVersion: async () => SequenceVersion.ZERO,
        parseVersion: (value) => SequenceVersion.parse(value),
        close: async () => undefined,
      }
      const manager = new SyncManager({
        store: createMemoryStore(),
        transport: flapping,
        nodeId: 'a',
        batchSize: 1,
        direction,
      })
      for (let i = 0; i < 3; i++) await manager.record({ type: 'T', aggregateId: 'x', data: i })

      const outcomes = [
        await manager.sync().catch((e: unknown) => e),
        await manager.sync().catch((e: unknown) => e),
      ]

      expect(outcomes.some((o) => isSyncKitError(o, 'unavailable'))).toBe(true)
      expect(outcomes.every((o) => !(o instanceof Error) || isSyncKitError(o))).toBe(true)
      expect(calls).toBeLessThanOrEqual(50)
    }
  })

  it('Given record input that is not an object, or metadata that is a string or an array, When recording, Then invalid-event and nothing is stored', async () => {
    const hub = createLoopbackHub()
    const a = replica(hub, 'a')
    const inputs: unknown[] = [
      undefined,
      null,
      'TodoAdded',
      { type: 'T', aggregateId: 'x', data: 1, metadata: 'tenant-1' },
      { type: 'T', aggregateId: 'x', data: 1, metadata: ['tenant-1'] },
      { type: 'T', aggregateId: 'x', data: 1, metadata: null },
      { type: 'T', aggregateId: 'x', data: 1, metadata: 5 },
    ]
    for (const input of inputs) {
      const error = await a.manager
        .record(input as Parameters<SyncManager['record']>[0])
        .catch((e: unknown) => e)
      expect(isSyncKitError(error, 'invalid-event')).toBe(true)
      // Bad metadata is named, never spread into numbered keys.
      if (typeof input === 'object' && input !== null) {
        expect((error as SyncKitError<'invalid-event'>).details.field).toBe('metadata')
      }
    }
    expect(await a.store.load(null)).toEqual([])
  })
})

describe('SyncManager against forged causal stamps', () => {
  it('Given a pulled event whose causal context claims this replica wrote 2^53 − 1 events, When the replica records afterwards, Then recording still works', async () => {
    const hub = createLoopbackHub()
    await hub.connect('mallory').push([
      {
        id: 'forged',
        type: 'T',
        aggregateId: 'x',
        data: {},
        metadata: { origin: 'mallory', causal: 'mallory:1,phone:9007199254740991' },
      },
    ])
    const phone = new SyncManager({
      store: createMemoryStore(),
      transport: hub.connect('phone'),
      nodeId: 'phone',
    })

    await phone.sync()
    const recorded = await phone.record({ type: 'T', aggregateId: 'x', data: { ok: true } })

    expect(recorded.event.metadata?.causal).toBe('phone:1')
  })
})

describe('SyncManager against a remote size limit', () => {
  it('Given one local event over the remote’s size limit, When syncing, Then the others are pushed and the oversized one is reported, not retried forever', async () => {
    const hub = createLoopbackHub()
    const inner = hub.connect('a')
    const limited: Transport = {
      push: (events, options) =>
        events.some((e) => JSON.stringify(e.data).length > 1_000)
          ? Promise.reject(new SyncKitError('payload-too-large', 'too big', { limitBytes: 1_000 }))
          : inner.push(events, options),
      pull: (since, options) => inner.pull(since, options),
      latestVersion: (options) => inner.latestVersion(options),
      parseVersion: (value) => inner.parseVersion(value),
      close: () => inner.close(),
    }
    const manager = new SyncManager({ store: createMemoryStore(), transport: limited, nodeId: 'a' })
    const errors: unknown[] = []
    manager.on('error', (e) => errors.push(e))
    await manager.record({ id: 'small-1', type: 'T', aggregateId: 'x', data: 1 })
    await manager.record({ id: 'huge', type: 'T', aggregateId: 'x', data: 'z'.repeat(5_000) })
    await manager.record({ id: 'small-2', type: 'T', aggregateId: 'x', data: 2 })

    await manager.sync()
    const again = await manager.sync()

    const onHub = (await hub.store.load(null)).map((e) => e.event.id)
    expect(onHub).toEqual(['small-1', 'small-2'])
    expect(errors.filter((e) => isSyncKitError(e, 'payload-too-large'))).toHaveLength(1)
    expect(again.pushed).toBe(0)
  })
})
