import { afterEach, describe, expect, it } from 'vitest'

import { startSyncServer } from '../examples/http-mode.js'
import type { SyncServerProcess } from '../examples/http-mode.js'
import { SyncManager, createMemoryStore, liveMode } from '../src/index.js'
import type { SyncResult } from '../src/index.js'
import { createHttpTransport } from '../src/transports/http/index.js'

// Live mode end to end (issue 3 §3): through a real `sync-kit serve` process. The delivery
// latency is measured in bench/live-latency.ts, not here.

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('live mode over HTTP', () => {
  it('a replica in live mode sees an event another replica pushed, without polling', async () => {
    // Given a server process and two replicas; B is live and would poll only once an hour
    let streamOpened: (() => void) | undefined
    const streamOpen = new Promise<void>((resolve) => (streamOpened = resolve))
    const server: SyncServerProcess = await startSyncServer({
      db: ':memory:',
      onLog: (record) => {
        if (record['path'] === '/v1/stream' && record['stream'] === 'open') streamOpened?.()
      },
    })
    cleanups.push(() => server.stop())
    let pullsByB = 0
    const countingFetch: typeof fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET')
      if (method === 'GET' && new URL(url).pathname === '/v1/events') pullsByB++
      return fetch(input, init)
    }
    const a = new SyncManager({
      store: createMemoryStore(),
      transport: createHttpTransport({ url: server.url }),
      nodeId: 'a',
    })
    const storeOfB = createMemoryStore()
    const b = new SyncManager({
      store: storeOfB,
      transport: createHttpTransport({ url: server.url, fetch: countingFetch }),
      nodeId: 'b',
      features: [liveMode()],
      intervalMs: 3_600_000,
    })
    cleanups.push(
      () => a.close(),
      () => b.close(),
    )
    const syncsOfB: SyncResult[] = []
    let onPulled: (() => void) | undefined
    b.on('sync', (result) => {
      syncsOfB.push(result)
      if (result.pulled > 0) onPulled?.()
    })
    // Two syncs: the one start() runs, and the one that follows the accepted stream (it covers
    // what was stored before the stream opened)
    let syncs = 0
    const firstSyncs = new Promise<void>((resolve) => {
      const off = b.on('sync', () => {
        if (++syncs < 2) return
        off()
        resolve()
      })
    })
    b.start()
    // The stream delivers events stored after it opened (the server logs the opening).
    await Promise.all([firstSyncs, streamOpen])
    const pullsBefore = pullsByB

    // When A records an event and pushes it
    const delivered = new Promise<void>((resolve) => (onPulled = resolve))
    const recorded = await a.record({ type: 'Noted', aggregateId: 'n1', data: { text: 'hi' } })
    expect((await a.sync()).pushed).toBe(1)

    // Then B pulls it on its own, prompted by the stream — one pull, no polling loop
    await delivered
    expect(syncsOfB.at(-1)?.pulled).toBe(1)
    expect(pullsByB - pullsBefore).toBe(1)
    expect((await storeOfB.load(null)).map((item) => item.event.id)).toEqual([recorded.event.id])
  })

  it('a live replica subscribes again after the server was reset (new epoch), and then sees new events without polling', async () => {
    // Given a server on a memory database (a restart gives it a new epoch) and a live replica B
    // that has pushed an event
    let opened = 0
    let onOpen: (() => void) | undefined
    const server: SyncServerProcess = await startSyncServer({
      db: ':memory:',
      onLog: (record) => {
        if (record['path'] === '/v1/stream' && record['stream'] === 'open') {
          opened++
          onOpen?.()
        }
      },
    })
    cleanups.push(() => server.stop())
    const streamOpened = async (count: number): Promise<void> => {
      while (opened < count) await new Promise<void>((resolve) => (onOpen = resolve))
    }
    const storeOfB = createMemoryStore()
    const b = new SyncManager({
      store: storeOfB,
      transport: createHttpTransport({ url: server.url, retry: { retries: 0 } }),
      nodeId: 'b',
      features: [liveMode()],
      intervalMs: 3_600_000,
      backoff: { initialMs: 100, maxMs: 1_000 },
    })
    cleanups.push(() => b.close())
    let opensBeforeReset = 0
    const epochChanged = new Promise<void>((resolve) => {
      b.on('epoch-changed', () => {
        opensBeforeReset = opened
        resolve()
      })
    })
    let onPulled: (() => void) | undefined
    b.on('sync', (result) => {
      if (result.pulled > 0) onPulled?.()
    })
    await b.record({ type: 'Noted', aggregateId: 'n0', data: { text: 'before' } })
    b.start()
    await streamOpened(1)

    // When the server is reset: restarted on a new, empty database
    await server.restart()
    // Then B notices the new epoch and opens a new stream on its own (its old one, resumed
    // into the new epoch, is refused by the client)
    await epochChanged
    await streamOpened(opensBeforeReset + 1)

    // and an event another replica pushes now reaches B through it, long before the next poll
    const a = new SyncManager({
      store: createMemoryStore(),
      transport: createHttpTransport({ url: server.url }),
      nodeId: 'a',
    })
    cleanups.push(() => a.close())
    const delivered = new Promise<void>((resolve) => (onPulled = resolve))
    const recorded = await a.record({ type: 'Noted', aggregateId: 'n1', data: { text: 'after' } })
    expect((await a.sync()).pushed).toBe(1)
    await delivered
    expect((await storeOfB.load(null)).map((item) => item.event.id)).toContain(recorded.event.id)
  })
})
