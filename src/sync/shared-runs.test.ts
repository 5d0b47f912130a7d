/**
 * Calls of `sync({ only })` share a run that has not started yet (issue 10: a live load client
 * pushing after each `record()` queued one push run per event, and its live batches waited
 * behind them all).
 */
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { Transport } from '../types/index.js'
import { SyncManager } from './sync-manager.js'

/** A promise with its resolve (Node 20 has no `Promise.withResolvers`). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** A hub transport whose pushes wait for `gate.open`, counting them. */
function gatedTransport() {
  const hub = createLoopbackHub()
  const inner = hub.connect('a')
  const gate = { pushes: 0, pushed: 0, open: deferred() }
  const transport: Transport = {
    ...inner,
    push: async (events, options) => {
      gate.pushes++
      await gate.open.promise
      gate.pushed += events.length
      return inner.push(events, options)
    },
    pull: (since, options) => inner.pull(since, options),
    latestVersion: (options) => inner.latestVersion(options),
    parseVersion: (value) => inner.parseVersion(value),
    close: () => inner.close(),
  }
  return { hub, transport, gate }
}

const input = (i: number) => ({ type: 'T', aggregateId: 'x', data: { i } })

describe('SyncManager: calls of sync({ only }) share a waiting run', () => {
  it('Given a push in flight, When 50 records each call sync({ only: "push" }), Then one more push run sends them all, and every call resolves with it', async () => {
    const { hub, transport, gate } = gatedTransport()
    const manager = new SyncManager({ store: createMemoryStore(), transport, nodeId: 'a' })
    await manager.record(input(0))
    const first = manager.sync({ only: 'push' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(gate.pushes).toBe(1)
    const calls = []
    for (let i = 1; i <= 50; i++) {
      await manager.record(input(i))
      calls.push(manager.sync({ only: 'push' }))
    }
    gate.open.resolve()
    const results = await Promise.all([first, ...calls])
    expect(gate.pushes).toBe(2)
    expect(gate.pushed).toBe(51)
    expect(results[0]?.pushed).toBe(1)
    // The 50 later calls got the one run that followed the first.
    expect(new Set(results.slice(1))).toHaveLength(1)
    expect(results[1]?.pushed).toBe(50)
    expect((await hub.store.load(null)).length).toBe(51)
  })

  it('Given a push in flight, When calls with a signal come, Then each gets a run of its own that its signal cancels (only signal-free calls share)', async () => {
    const { transport, gate } = gatedTransport()
    const manager = new SyncManager({ store: createMemoryStore(), transport, nodeId: 'a' })
    await manager.record(input(0))
    const inFlight = manager.sync({ only: 'push' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    await manager.record(input(1))
    const a = new AbortController()
    const callA = manager.sync({ only: 'push', signal: a.signal })
    const callB = manager.sync({ only: 'push', signal: new AbortController().signal })
    a.abort()
    await expect(callA).rejects.toSatisfy((e) => isSyncKitError(e, 'aborted'))
    gate.open.resolve()
    await inFlight
    // A's run was cancelled before it pushed; B's own run pushed the event.
    expect((await callB).pushed).toBe(1)
    expect(gate.pushes).toBe(2)
  })

  it('Given a shared run that has started, When another call comes, Then it gets a run of its own (which sees the events recorded since)', async () => {
    const { transport, gate } = gatedTransport()
    const manager = new SyncManager({ store: createMemoryStore(), transport, nodeId: 'a' })
    await manager.record(input(0))
    const started = manager.sync({ only: 'push' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(gate.pushes).toBe(1)
    await manager.record(input(1))
    const later = manager.sync({ only: 'push' })
    gate.open.resolve()
    expect((await started).pushed).toBe(1)
    expect((await later).pushed).toBe(1)
    expect(gate.pushes).toBe(2)
  })

  it('Given a sync() that must wait, When more exclusive work keeps being queued behind it, Then it runs in its turn (first in, first out) and is not starved', async () => {
    const { transport, gate } = gatedTransport()
    const manager = new SyncManager({ store: createMemoryStore(), transport, nodeId: 'a' })
    const { version } = await manager.record(input(0))
    const first = manager.sync({ only: 'push' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    let fullDone = false
    const full = manager.sync().then((result) => {
      fullDone = true
      return result
    })
    // Work queued after the full sync (each pushUntil call runs on its own).
    const later = Array.from({ length: 10 }, () =>
      manager.sync({ only: 'push', pushUntil: version }).then(() => fullDone),
    )
    gate.open.resolve()
    await first
    // Every later run saw the full sync done before it: it ran in its turn.
    expect(await Promise.all(later)).toEqual(Array.from({ length: 10 }, () => true))
    expect((await full).pulled).toBe(0)
  })
})

describe('SyncManager: shared runs meet close(), failures and live records', () => {
  it('Given shared push and pull runs waiting behind a push in flight, When close() is called, Then it resolves only after they ran, each caller gets its run, and later calls reject with closed', async () => {
    const { transport, gate } = gatedTransport()
    const manager = new SyncManager({ store: createMemoryStore(), transport, nodeId: 'a' })
    await manager.record(input(0))
    const first = manager.sync({ only: 'push' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    await manager.record(input(1))
    const pushes = [manager.sync({ only: 'push' }), manager.sync({ only: 'push' })]
    const pulls = [manager.sync({ only: 'pull' }), manager.sync({ only: 'pull' })]
    let closed = false
    const closing = manager.close().then(() => (closed = true))
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(closed).toBe(false)
    gate.open.resolve()
    await closing
    const [a, b] = await Promise.all(pushes)
    expect(a).toBe(b)
    expect(a?.pushed).toBe(1)
    const [c, d] = await Promise.all(pulls)
    expect(c).toBe(d)
    expect((await first).pushed).toBe(1)
    await expect(manager.sync({ only: 'push' })).rejects.toSatisfy((e) =>
      isSyncKitError(e, 'closed'),
    )
  })

  it('Given a shared push run that fails, Then every caller sharing it gets the rejection, and the next call gets a run of its own that succeeds', async () => {
    const { transport, gate } = gatedTransport()
    let fail = true
    const failing: Transport = {
      ...transport,
      push: (events, options) =>
        fail ? Promise.reject(new Error('push refused')) : transport.push(events, options),
    }
    const manager = new SyncManager({ store: createMemoryStore(), transport: failing, nodeId: 'a' })
    gate.open.resolve()
    await manager.record(input(0))
    const calls = [manager.sync({ only: 'push' }), manager.sync({ only: 'push' })]
    const settled = await Promise.allSettled(calls)
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected'])
    fail = false
    expect((await manager.sync({ only: 'push' })).pushed).toBe(1)
    await manager.close()
  })
})
