// IndexedDB-specific behaviour beyond the conformance suite, in Node on fake-indexeddb: versions,
// the replica id, one transaction per batch and checkpoint, cancellation, write notifications,
// the epoch, options, and the failures a browser causes (quota, aborted transactions).
import { IDBObjectStore } from 'fake-indexeddb'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../memory/index.js'
import type { Event, Filter } from '../../types/index.js'
import { SequenceVersion } from '../../versions/sequence-version.js'
import { indexedDbChannelName, openIndexedDbStore } from './index.js'
import type { IndexedDbStore, IndexedDbStoredMessage } from './index.js'
import { toSyncKitError } from './indexeddb-errors.js'
import {
  deleteDatabase,
  ev,
  fakeIndexedDb,
  rejection,
  spiedIndexedDb,
} from './indexeddb.fixture.js'

const opened: IndexedDbStore[] = []
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close()
  vi.restoreAllMocks()
})

async function open(
  options: Partial<Parameters<typeof openIndexedDbStore>[0]> = {},
): Promise<IndexedDbStore> {
  const store = await openIndexedDbStore({ name: 'db', ...fakeIndexedDb(), ...options })
  opened.push(store)
  return store
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await rejection(promise)
  if (!isSyncKitError(error)) throw error
  return error.code
}

describe('IndexedDB store: versions', () => {
  it('numbers events 1, 2, 3 …; a duplicate, also within a batch, takes no number', async () => {
    // Given an empty store
    const store = await open()
    // When events are stored, some of them twice
    const results = [
      await store.store(ev('e1')),
      await store.store(ev('e2')),
      await store.store(ev('e1')),
      ...(await store.storeBatch([ev('e3'), ev('e2'), ev('e3'), ev('e4')])),
    ]
    // Then the versions count new events only
    expect(results.map((r) => [r.version.toString(), r.duplicate])).toEqual([
      ['1', false],
      ['2', false],
      ['1', true],
      ['3', false],
      ['2', true],
      ['3', true],
      ['4', false],
    ])
    expect(results[0]?.version).toBeInstanceOf(SequenceVersion)
    expect((await store.latestVersion()).toString()).toBe('4')
  })

  it('a rejected batch takes no number either', async () => {
    const store = await open()
    await store.store(ev('e1', { data: 'original' }))
    expect(await codeOf(store.storeBatch([ev('n1'), ev('e1', { data: 'changed' })]))).toBe(
      'event-id-conflict',
    )
    expect((await store.store(ev('n1'))).version.toString()).toBe('2')
  })

  it('finds nothing after a version past 2^53, by any load', async () => {
    const store = await open()
    await store.storeBatch([ev('e1'), ev('e2')])
    const huge = store.parseVersion('9007199254740993')
    expect(huge.toString()).toBe('9007199254740993')
    expect(await store.load(huge)).toEqual([])
    expect(await store.load(huge, { filters: [{ key: 'type', value: 'T' }] })).toEqual([])
    expect(await store.loadByAggregate('a1', huge)).toEqual([])
    // The checks of the other arguments still apply.
    expect(await codeOf(store.load(huge, { limit: 0 }))).toBe('invalid-argument')
    expect(await codeOf(store.load(huge, { filters: [{ key: 'colour', value: 'x' }] }))).toBe(
      'unsupported-filter',
    )
  })
})

describe('IndexedDB store: one transaction per write', () => {
  it('stores a batch and its checkpoint in the same readwrite transaction, durably', async () => {
    // Given a store whose transactions the test sees
    const spied = spiedIndexedDb()
    const store = await open(spied.options)
    spied.transactions.length = 0
    // When a batch is stored with a checkpoint
    await store.storeBatch([ev('e1'), ev('e2')], {
      checkpoint: { key: { remote: 'server', direction: 'pull' }, value: { version: '7' } },
    })
    // Then one transaction covered both, with strict durability
    expect(spied.transactions).toEqual([
      { stores: ['checkpoints', 'events'], mode: 'readwrite', durability: 'strict' },
    ])
  })

  it('asks for relaxed durability when told to', async () => {
    const spied = spiedIndexedDb()
    const store = await open({ ...spied.options, durability: 'relaxed' })
    spied.transactions.length = 0
    await store.store(ev('e1'))
    await store.setCheckpoint({ remote: 'r', direction: 'push' }, { version: '1' })
    await store.setState('k', 1)
    expect(spied.transactions.map((t) => t.durability)).toEqual(['relaxed', 'relaxed', 'relaxed'])
  })

  it('sees the writes of another store on the same database (another tab)', async () => {
    // Given two stores on one database, as two tabs would hold
    const fake = fakeIndexedDb()
    const a = await open(fake)
    const b = await open(fake)
    // When both write, Then the versions interleave without a gap or a repeat
    await a.store(ev('a1'))
    await b.store(ev('b1'))
    await a.storeBatch([ev('a2'), ev('b1')])
    const all = await b.load(null)
    expect(all.map((r) => [r.event.id, r.version.toString()])).toEqual([
      ['a1', '1'],
      ['b1', '2'],
      ['a2', '3'],
    ])
    expect(a.replicaId).toBe(b.replicaId)
  })
})

describe('IndexedDB store: replica id', () => {
  it('creates a replica id on first open, valid as a nodeId, and keeps it across reopens', async () => {
    const fake = fakeIndexedDb()
    const first = await open(fake)
    expect(first.replicaId).toMatch(/^[A-Za-z0-9._~-]{1,64}$/)
    await first.close()
    const again = await open(fake)
    expect(again.replicaId).toBe(first.replicaId)
    const other = await open({ ...fake, name: 'other-db' })
    expect(other.replicaId).not.toBe(first.replicaId)
  })

  it('gets a new replica id, and an empty log, once the database was deleted', async () => {
    // Given a store with events, open in this "tab"
    const fake = fakeIndexedDb()
    const store = await open(fake)
    await store.store(ev('e1'))
    const onClosed = vi.fn()
    await open({ ...fake, onClosed })
    // When the database is deleted (the open stores close themselves so that it can be)
    await deleteDatabase(fake.indexedDB, 'db')
    // Then the open stores are closed, naming why, and a new open starts afresh
    expect(onClosed).toHaveBeenCalledTimes(1)
    expect(String(onClosed.mock.calls[0]?.[0])).toMatch(/deleting the database/)
    expect(await codeOf(store.load(null))).toBe('closed')
    const fresh = await open(fake)
    expect(fresh.replicaId).not.toBe(store.replicaId)
    expect(await fresh.load(null)).toEqual([])
  })

  it('uses generateReplicaId, and refuses an id that is not a valid nodeId', async () => {
    const fake = fakeIndexedDb()
    expect((await open({ ...fake, generateReplicaId: () => 'tab-1' })).replicaId).toBe('tab-1')
    const bad = await rejection(
      openIndexedDbStore({ ...fake, name: 'db2', generateReplicaId: () => 'not valid!' }),
    )
    expect(isSyncKitError(bad, 'invalid-argument')).toBe(true)
    expect(bad.message).toMatch(/generateReplicaId returned "not valid!"/)
    // Nothing was kept: the next open makes a replica id after all.
    expect((await open({ ...fake, name: 'db2', generateReplicaId: () => 'ok' })).replicaId).toBe(
      'ok',
    )
  })

  it('makes a UUID from getRandomValues where crypto.randomUUID is missing (plain HTTP pages)', async () => {
    // Shadows Crypto.prototype.randomUUID on this object; deleting it brings the method back.
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true })
    try {
      const store = await open()
      expect(store.replicaId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      )
    } finally {
      delete (globalThis.crypto as { randomUUID?: unknown }).randomUUID
    }
    expect(typeof globalThis.crypto.randomUUID).toBe('function')
  })
})

describe('IndexedDB store: cancellation and closing', () => {
  it('aborts a write under way when its signal fires: nothing is stored', async () => {
    const store = await open()
    const controller = new AbortController()
    const pending = store.storeBatch([ev('e1'), ev('e2')], {
      signal: controller.signal,
      checkpoint: { key: { remote: 'r', direction: 'pull' }, value: { version: '9' } },
    })
    controller.abort(new Error('user left'))
    const error = await rejection(pending)
    expect(isSyncKitError(error, 'aborted')).toBe(true)
    expect(error.cause).toEqual(new Error('user left'))
    expect(await store.load(null)).toEqual([])
    expect(await store.getCheckpoint({ remote: 'r', direction: 'pull' })).toBeUndefined()
  })

  it('closes itself when the browser closes the database, and says so', async () => {
    // Given a store whose connection the test can reach
    const spied = spiedIndexedDb()
    const onClosed = vi.fn()
    const store = await open({ ...spied.options, onClosed })
    const { forceCloseDatabase } = await import('fake-indexeddb')
    // When the browser closes it (site data cleared in DevTools, storage lost)
    forceCloseDatabase(spied.connections[0] as never)
    await vi.waitFor(() => expect(onClosed).toHaveBeenCalledTimes(1))
    // Then every call rejects with closed, naming the cause
    const error = await rejection(store.load(null))
    expect(isSyncKitError(error, 'closed')).toBe(true)
    expect(error.message).toMatch(
      /^\[sync-kit\] \[indexeddb:db\] load is closed: the browser closed/,
    )
    await store.close()
  })

  it('lets transactions under way finish on close()', async () => {
    const store = await open()
    const pending = store.storeBatch([ev('e1')])
    await store.close()
    expect((await pending)[0]?.duplicate).toBe(false)
    expect(await codeOf(store.store(ev('e2')))).toBe('closed')
    expect(store.parseVersion('1').toString()).toBe('1')
  })
})

describe('IndexedDB store: failures the browser causes', () => {
  /** Makes the next add abort its transaction as the browser would, with `name` as its error. */
  function abortNextAdd(name: string | null): void {
    const add = IDBObjectStore.prototype.add
    vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementationOnce(function (
      this: IDBObjectStore,
      ...args: Parameters<typeof add>
    ) {
      const request = add.apply(this, args)
      ;(this.transaction as unknown as { _abort(name: string | null): void })._abort(name)
      return request
    })
  }

  it('reports a used-up quota as unavailable naming the quota; nothing is stored', async () => {
    const store = await open()
    await store.store(ev('e0'))
    abortNextAdd('QuotaExceededError')
    const error = await rejection(
      store.storeBatch([ev('e1'), ev('e2')], {
        checkpoint: { key: { remote: 'r', direction: 'pull' }, value: { version: '3' } },
      }),
    )
    expect(isSyncKitError(error, 'unavailable')).toBe(true)
    expect(error.message).toMatch(/storage quota for this site is used up \(QuotaExceededError/)
    expect((error as { transient?: boolean }).transient).toBe(true)
    expect((await store.load(null)).map((r) => r.event.id)).toEqual(['e0'])
    expect(await store.getCheckpoint({ remote: 'r', direction: 'pull' })).toBeUndefined()
    // The store keeps working once there is room again.
    expect((await store.store(ev('e1'))).version.toString()).toBe('2')
  })

  it('reports a transaction the browser aborted as unavailable; nothing is stored', async () => {
    const store = await open()
    for (const name of ['AbortError', 'UnknownError', null]) {
      abortNextAdd(name)
      const error = await rejection(store.store(ev('e1')))
      expect(isSyncKitError(error, 'unavailable'), String(error)).toBe(true)
    }
    expect(await store.load(null)).toEqual([])
  })

  it('maps IndexedDB errors to codes', () => {
    const map = (name: string) =>
      toSyncKitError(new DOMException('m', name), '[sync-kit] [x]', 'op')
    expect(map('QuotaExceededError').code).toBe('unavailable')
    expect(map('AbortError').code).toBe('unavailable')
    expect(map('UnknownError').code).toBe('unavailable')
    expect(map('InvalidStateError').code).toBe('closed')
    expect(map('DataError').code).toBe('internal')
    expect(map('DataError').message).toBe('[sync-kit] [x] op failed: DataError: m')
    expect(toSyncKitError('odd', '[sync-kit] [x]', 'op').code).toBe('internal')
    expect(toSyncKitError(null, '[sync-kit] [x]', 'op').message).toMatch(/no error given/)
  })
})

describe('IndexedDB store: write notifications', () => {
  function listen(name: string): { messages: IndexedDbStoredMessage[]; close(): void } {
    const channel = new BroadcastChannel(indexedDbChannelName(name))
    const messages: IndexedDbStoredMessage[] = []
    channel.onmessage = (message: MessageEvent<IndexedDbStoredMessage>) => {
      messages.push(message.data)
    }
    return { messages, close: () => channel.close() }
  }

  it('posts what a committed write stored on the BroadcastChannel of the database', async () => {
    // Given another "tab" listening on the channel
    const store = await open({ name: 'notified' })
    const other = listen('notified')
    try {
      // When batches are stored (the second holds duplicates only)
      await store.storeBatch([ev('e1'), ev('e2', { aggregateId: 'a2' }), ev('e3')])
      await store.storeBatch([ev('e1')])
      await store.store(ev('e4', { aggregateId: 'a2' }))
      // Then each write with new events posted once
      await vi.waitFor(() => expect(other.messages).toHaveLength(2))
      expect(other.messages).toEqual([
        {
          type: 'stored',
          name: 'notified',
          replicaId: store.replicaId,
          latest: '3',
          count: 3,
          aggregateIds: ['a1', 'a2'],
        },
        {
          type: 'stored',
          name: 'notified',
          replicaId: store.replicaId,
          latest: '4',
          count: 1,
          aggregateIds: ['a2'],
        },
      ])
    } finally {
      other.close()
    }
  })

  it('posts nothing with broadcast: false', async () => {
    const fake = fakeIndexedDb()
    const store = await open({ ...fake, name: 'quiet', broadcast: false })
    const other = listen('quiet')
    const loud = await open({ ...fake, name: 'quiet' })
    try {
      await store.store(ev('e1'))
      await loud.store(ev('e2'))
      await vi.waitFor(() => expect(other.messages).toHaveLength(1))
      expect(other.messages[0]?.latest).toBe('2')
    } finally {
      other.close()
    }
  })
})

describe('IndexedDB store: epoch', () => {
  it('keeps the first candidate epoch, across reopens and for every store of the database', async () => {
    const fake = fakeIndexedDb()
    const a = await open(fake)
    const b = await open(fake)
    const [first, second] = await Promise.all([
      a.loadOrCreateEpoch('epoch-a'),
      b.loadOrCreateEpoch('epoch-b'),
    ])
    expect(second).toBe(first)
    await a.close()
    expect(await (await open(fake)).loadOrCreateEpoch('epoch-c')).toBe(first)
    expect(await codeOf(b.loadOrCreateEpoch(''))).toBe('invalid-argument')
  })
})

describe('IndexedDB store: options', () => {
  it('refuses bad options with invalid-argument naming the option', async () => {
    const fake = fakeIndexedDb()
    const cases: [unknown, string][] = [
      [null, 'options'],
      [{ ...fake, name: '' }, 'name'],
      [{ name: 'db' }, 'indexedDB'],
      [{ name: 'db', indexedDB: fake.indexedDB }, 'IDBKeyRange'],
      [{ ...fake, name: 'db', durability: 'eventually' }, 'durability'],
      [{ ...fake, name: 'db', blockedTimeoutMs: -1 }, 'blockedTimeoutMs'],
      [{ ...fake, name: 'db', generateReplicaId: 'id' }, 'generateReplicaId'],
      [{ ...fake, name: 'db', onClosed: true }, 'onClosed'],
      [{ ...fake, name: 'db', broadcast: 'yes' }, 'broadcast'],
      [{ ...fake, name: 'db', timers: {} }, 'timers'],
    ]
    for (const [options, argument] of cases) {
      const error = await rejection(
        (async () => openIndexedDbStore(options as Parameters<typeof openIndexedDbStore>[0]))(),
      )
      expect(isSyncKitError(error, 'invalid-argument'), `${argument}: ${String(error)}`).toBe(true)
      expect((error as { details?: unknown }).details, argument).toEqual({ argument })
    }
  })

  it('says how to get IndexedDB in Node when there is none', async () => {
    const error = await rejection((async () => openIndexedDbStore({ name: 'db' }))())
    expect(error.message).toBe(
      '[sync-kit] [indexeddb:db] this runtime has no IndexedDB; pass the indexedDB option (in Node: new IDBFactory() from fake-indexeddb)',
    )
  })
})

describe('IndexedDB store: loads', () => {
  it('walks the index of the rarest filter key and scans past a chunk to fill the limit', async () => {
    // Given 600 events of one type in two tenants, 20 of them in tenant t3
    const store = await open()
    const events: Event[] = Array.from({ length: 600 }, (_, i) =>
      ev(`e${i + 1}`, {
        aggregateId: `a${i % 7}`,
        metadata: { tenant: i % 30 === 0 ? 't3' : i % 2 === 0 ? 't1' : 't2' },
      }),
    )
    await store.storeBatch(events)
    const page = async (filters: Filter[], limit?: number, since = 0) =>
      (
        await store.load(store.parseVersion(String(since)), {
          filters,
          ...(limit === undefined ? {} : { limit }),
        })
      ).map((r) => r.version.toString())
    const expected = (keep: (i: number) => boolean, limit = Infinity, since = 0) =>
      events
        .map((_, i) => i)
        .filter((i) => i >= since && keep(i))
        .slice(0, limit)
        .map((i) => String(i + 1))
    // When loading with filters on two keys and a limit larger than one scan chunk (256)
    // Then the answers are the events a full scan would find, oldest first
    const t2 = (i: number) => i % 30 !== 0 && i % 2 === 1
    expect(
      await page(
        [
          { key: 'type', value: 'T' },
          { key: 'tenant', value: 't2' },
        ],
        290,
      ),
    ).toEqual(expected(t2, 290))
    expect(
      await page([
        { key: 'tenant', value: 't3' },
        { key: 'type', value: 'T' },
      ]),
    ).toEqual(expected((i) => i % 30 === 0))
    expect(
      await page(
        [
          { key: 'tenant', value: 't1' },
          { key: 'tenant', value: 't3' },
          { key: 'aggregate_id', value: 'a3' },
        ],
        5,
        100,
      ),
    ).toEqual(expected((i) => i % 7 === 3 && (i % 30 === 0 || i % 2 === 0), 5, 100))
  })

  it('answers every load like the memory store (model-based property)', async () => {
    const types = ['A', 'B', 'C']
    const aggregates = ['g0', 'g1', 'g2', 'g3']
    const eventArb = fc
      .record({
        n: fc.nat({ max: 40 }),
        type: fc.constantFrom(...types),
        tenant: fc.constantFrom('t1', 't2', undefined),
        aggregateId: fc.constantFrom(...aggregates),
        payload: fc.nat({ max: 1 }),
      })
      .map(({ n, type, tenant, aggregateId, payload }) =>
        ev(`id${n}`, {
          type,
          aggregateId,
          data: { payload },
          ...(tenant === undefined ? {} : { metadata: { tenant } }),
        }),
      )
    const queryArb = fc.record({
      since: fc.nat({ max: 45 }),
      limit: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
      filters: fc.array(
        fc.oneof(
          fc.record({ key: fc.constant('type'), value: fc.constantFrom(...types, 'Z') }),
          fc.record({ key: fc.constant('tenant'), value: fc.constantFrom('t1', 't2', 'tx') }),
          fc.record({ key: fc.constant('aggregate_id'), value: fc.constantFrom(...aggregates) }),
        ),
        { maxLength: 5 },
      ),
      aggregateId: fc.option(fc.constantFrom(...aggregates), { nil: undefined }),
    })
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(eventArb, { maxLength: 6 }), { maxLength: 8 }),
        fc.array(queryArb, { minLength: 1, maxLength: 6 }),
        async (batches, queries) => {
          // Given the same batches (some rejected as conflicts) in both stores
          const store = await openIndexedDbStore({ name: `model-${++run}`, ...fakeIndexedDb() })
          const model = createMemoryStore()
          try {
            for (const batch of batches) {
              const outcome = async (s: typeof model | IndexedDbStore) =>
                s.storeBatch(batch).then(
                  (results) => results.map((r) => [r.version.toString(), r.duplicate]),
                  (error: unknown) => (isSyncKitError(error) ? error.code : 'other'),
                )
              expect(await outcome(store)).toEqual(await outcome(model))
            }
            // When queried, Then both answer alike
            for (const q of queries) {
              const options = {
                filters: q.filters,
                ...(q.limit === undefined ? {} : { limit: q.limit }),
              }
              const answer = async (s: typeof model | IndexedDbStore) => {
                const since = s.parseVersion(String(q.since))
                const page =
                  q.aggregateId === undefined
                    ? await s.load(since, options)
                    : await s.loadByAggregate(q.aggregateId, since, options)
                return page.map((r) => [r.event, r.version.toString()])
              }
              expect(await answer(store)).toEqual(await answer(model))
            }
          } finally {
            await store.close()
          }
        },
      ),
      { numRuns: 60 },
    )
  })
})
