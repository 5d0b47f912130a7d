/**
 * The push and pull passes against remotes that misbehave or regress (issue 9 §6, §7) and across
 * several remotes (issue 10 §1). Each test names the scenario that once went wrong.
 */
import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { LoopbackHub } from '../transports/loopback/index.js'
import type { EventStore, PullResult, Transport } from '../types/index.js'
import { MAX_EMPTY_PAGES } from './pull-pass.js'
import { SyncManager } from './sync-manager.js'
import { refusalList } from './refusal-list.js'

async function idsOf(store: EventStore): Promise<string[]> {
  return (await store.load(null)).map((e) => e.event.id)
}

/**
 * A remote that can be "restored from a backup": `restore()` swaps in a new hub with the same
 * epoch, holding the events the current one held when `backup()` was called.
 */
function restorableRemote() {
  let hub: LoopbackHub = createLoopbackHub()
  let backup: Awaited<ReturnType<EventStore['load']>> = []
  const remote = {
    get hub() {
      return hub
    },
    async backup() {
      backup = await hub.store.load(null)
    },
    async restore() {
      const store = createMemoryStore()
      for (const { event } of backup) await store.store(event)
      const epoch = hub.epoch
      await hub.close()
      hub = createLoopbackHub({ store, epoch })
    },
    /** A transport that always talks to the current hub. */
    connect(id: string): Transport {
      const current = (): Transport => hub.connect(id)
      return {
        push: (events, options) => current().push(events, options),
        pull: (since, options) => current().pull(since, options),
        latestVersion: (options) => current().latestVersion(options),
        parseVersion: (value) => current().parseVersion(value),
        close: () => Promise.resolve(),
      }
    },
  }
  return remote
}

describe('SyncManager: paging', () => {
  it('Given a remote that answers empty pages with hasMore: true before the events, When syncing, Then the pull follows them and gets the events', async () => {
    const hub = createLoopbackHub()
    await hub.connect('other').push([{ id: 'e1', type: 'T', aggregateId: 'x', data: null }])
    const inner = hub.connect('a')
    let empties = 2
    const transport: Transport = {
      push: (events, options) => inner.push(events, options),
      pull: async (since, options): Promise<PullResult> => {
        const page = await inner.pull(since, options)
        if (empties-- > 0) return { events: [], hasMore: true, epoch: page.epoch ?? '' }
        return page
      },
      latestVersion: (options) => inner.latestVersion(options),
      parseVersion: (value) => inner.parseVersion(value),
      close: () => inner.close(),
    }
    const store = createMemoryStore()
    const a = new SyncManager({ store, transport, nodeId: 'a' })

    const result = await a.sync()

    expect(result.pulled).toBe(1)
    expect(await idsOf(store)).toEqual(['e1'])
  })

  it('Given a remote that answers empty pages with hasMore: true forever, When syncing, Then the sync fails with protocol after the bound', async () => {
    let pulls = 0
    const transport: Transport = {
      push: () => Promise.resolve({ stored: 0, duplicates: 0 }),
      pull: () => {
        pulls++
        return Promise.resolve({ events: [], hasMore: true })
      },
      latestVersion: () => Promise.reject(new Error('unused')),
      parseVersion: () => {
        throw new Error('unused')
      },
      close: () => Promise.resolve(),
    }
    const a = new SyncManager({ store: createMemoryStore(), transport, nodeId: 'a' })

    const error = await a.sync().catch((e: unknown) => e)

    expect(isSyncKitError(error, 'protocol')).toBe(true)
    expect(pulls).toBe(MAX_EMPTY_PAGES + 1)
  })
})

describe('SyncManager: a remote restored from a backup (same epoch)', () => {
  async function scenario() {
    // Given a and b synced through the remote; a backup; then a pushes a2 and a3
    const remote = restorableRemote()
    const replica = (nodeId: string, store: EventStore = createMemoryStore()): SyncManager =>
      new SyncManager({ store, transport: remote.connect(nodeId), nodeId })
    const aStore = createMemoryStore()
    const a = replica('a', aStore)
    const b = replica('b')
    await a.record({ id: 'a1', type: 'T', aggregateId: 'x', data: 1 })
    await a.sync()
    await b.record({ id: 'b1', type: 'T', aggregateId: 'y', data: 1 })
    await b.sync()
    await a.sync()
    await remote.backup()
    await a.record({ id: 'a2', type: 'T', aggregateId: 'x', data: 2 })
    await a.record({ id: 'a3', type: 'T', aggregateId: 'x', data: 3 })
    await a.sync()
    // When the remote is restored (it loses a2 and a3) and a new replica c writes after it
    await remote.restore()
    const c = replica('c')
    await c.record({ id: 'c1', type: 'T', aggregateId: 'z', data: 1 })
    await c.sync()
    return { remote, a, aStore }
  }

  it('Given a replica whose cursor is beyond the restored log, When it pushes a new event, Then it notices, re-sends what the restore lost and pulls what was written after it', async () => {
    const { remote, a, aStore } = await scenario()
    const epochs: { previous: string; current: string }[] = []
    a.on('epoch-changed', (e) => epochs.push(e))

    await a.record({ id: 'a4', type: 'T', aggregateId: 'x', data: 4 })
    const result = await a.sync()

    expect(epochs).toEqual([{ previous: remote.hub.epoch, current: remote.hub.epoch }])
    expect(await idsOf(remote.hub.store)).toEqual(['a1', 'b1', 'c1', 'a4', 'a2', 'a3'])
    expect(await idsOf(aStore)).toContain('c1')
    expect(result.pulled).toBe(1)
    expect((await a.sync()).pushed).toBe(0)
  })

  it('Given a replica whose cursor is beyond the restored log, When it restarts and syncs, Then it notices before pushing and re-sends in causal order', async () => {
    const { remote, a, aStore } = await scenario()
    await a.close()

    const restarted = new SyncManager({
      store: aStore,
      transport: remote.connect('a2'),
      nodeId: 'a',
    })
    await restarted.sync()

    expect(await idsOf(remote.hub.store)).toEqual(['a1', 'b1', 'c1', 'a2', 'a3'])
    expect(await idsOf(aStore)).toContain('c1')
  })
})

describe('SyncManager: several remotes over one store', () => {
  it('Given a replica with a manager for each of two remotes, When each side writes, Then it relays every event to the other remote and echoes none back', async () => {
    const one = createLoopbackHub()
    const two = createLoopbackHub()
    const store = createMemoryStore()
    const toOne = new SyncManager({
      store,
      transport: one.connect('r'),
      nodeId: 'r',
      remote: 'one',
    })
    const toTwo = new SyncManager({
      store,
      transport: two.connect('r'),
      nodeId: 'r',
      remote: 'two',
    })
    const x = new SyncManager({
      store: createMemoryStore(),
      transport: one.connect('x'),
      nodeId: 'x',
    })
    const y = new SyncManager({
      store: createMemoryStore(),
      transport: two.connect('y'),
      nodeId: 'y',
    })
    await x.record({ id: 'from-one', type: 'T', aggregateId: 'a', data: null })
    await y.record({ id: 'from-two', type: 'T', aggregateId: 'b', data: null })
    await x.sync()
    await y.sync()

    await toOne.sync()
    const relayed = await toTwo.sync()
    const back = await toOne.sync()

    expect(relayed).toMatchObject({ pushed: 1, pulled: 1 })
    expect(back).toMatchObject({ pushed: 1, pulled: 0 })
    expect((await toOne.sync()).pushed + (await toTwo.sync()).pushed).toBe(0)
    expect((await idsOf(one.store)).sort()).toEqual(['from-one', 'from-two'])
    expect((await idsOf(two.store)).sort()).toEqual(['from-one', 'from-two'])
  })
})

describe('SyncManager: a page halved around a refused event', () => {
  it('Given a page the remote refuses for one event, When the server is reset between two halves, Then no half goes to the new log alone: everything is re-sent there', async () => {
    // Given e1, bad, e3 in one page; the remote refuses "bad"; it is reset after storing e1
    const hub = createLoopbackHub()
    const inner = hub.connect('a')
    let resetAfterFirst = true
    const transport: Transport = {
      push: async (events, options) => {
        if (events.some((e) => e.id === 'bad')) {
          throw new SyncKitError('invalid-event', 'bad', { eventId: 'bad' })
        }
        const result = await inner.push(events, options)
        if (resetAfterFirst) {
          resetAfterFirst = false
          await hub.reset()
        }
        return result
      },
      pull: (since, options) => hub.connect('a').pull(since, options),
      latestVersion: (options) => hub.connect('a').latestVersion(options),
      parseVersion: (value) => inner.parseVersion(value),
      close: () => Promise.resolve(),
    }
    const a = new SyncManager({
      store: createMemoryStore(),
      transport,
      nodeId: 'a',
      features: [refusalList()],
    })
    a.on('error', () => undefined)
    for (const id of ['e1', 'bad', 'e3']) {
      await a.record({ id, type: 'T', aggregateId: 'x', data: null })
    }

    // When it syncs (e1 lands in the old log, which is then replaced)
    await a.sync().catch(() => undefined)
    await a.sync()

    // Then the new log holds every event but the refused one, in order
    expect(await idsOf(hub.store)).toEqual(['e1', 'e3'])
    expect((await a.refusals()).map((r) => r.event.id)).toEqual(['bad'])
  })
})

describe('SyncManager: a replica that only pulled', () => {
  it('Given a replica that only ever pulled, When it restarts, its remote is reset and it syncs, Then it re-sends what it pulled from the old log', async () => {
    // Given b pulled x's event, and restarted (a new manager, no push checkpoint yet)
    const hub = createLoopbackHub()
    const store = createMemoryStore()
    const x = new SyncManager({
      store: createMemoryStore(),
      transport: hub.connect('x'),
      nodeId: 'x',
    })
    await x.record({ id: 'from-x', type: 'T', aggregateId: 'a', data: null })
    await x.sync()
    await new SyncManager({ store, transport: hub.connect('b'), nodeId: 'b' }).sync()
    const b = new SyncManager({ store, transport: hub.connect('b2'), nodeId: 'b' })
    await b.sync()

    // When the remote is replaced by an empty one and b syncs
    await hub.reset()
    await b.sync()

    // Then the new log holds x's event again, relayed by b
    expect(await idsOf(hub.store)).toEqual(['from-x'])
  })
})
