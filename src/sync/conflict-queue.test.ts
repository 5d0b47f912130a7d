import { describe, expect, it } from 'vitest'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { ConflictResolver, ResolvedConflict } from '../types/index.js'
import { CausalTracker } from './causal-tracker.js'
import { ConflictQueue } from './conflict-queue.js'
import { partsContext, stored } from './sync-parts.fixture.js'

function queueWith(resolve: ConflictResolver['resolve']) {
  const parts = partsContext({ resolver: { resolve } })
  const causal = new CausalTracker(parts.ctx)
  return { ...parts, causal, queue: new ConflictQueue(parts.ctx, causal) }
}

const keepLocal = (winner: string): ResolvedConflict => ({
  resolvedEvents: [],
  decision: 'keep-local',
  reasons: [],
  winner,
})

describe('ConflictQueue', () => {
  it('Given two queued conflicts, when decided, then the resolver sees them oldest first with their changed fields, and each is reported', async () => {
    const seen: string[] = []
    const { queue, store, emitted } = queueWith((conflict) => {
      seen.push(`${conflict.local.event.id}/${conflict.remote.event.id}`)
      expect(conflict.changedFields).toEqual(['v'])
      expect(conflict.metadata).toMatchObject({
        localOrigin: 'a',
        remoteOrigin: 'b',
        detectedBy: 'a',
      })
      return Promise.resolve(keepLocal(conflict.local.event.id))
    })
    const a1 = await stored(store, 'a1', 'a', { a: 1 })
    const b1 = await stored(store, 'b1', 'b', { b: 1 })
    const b2 = await stored(store, 'b2', 'b', { b: 2 })

    queue.add(a1, b1)
    queue.add(a1, b2)
    const counts = await queue.decide(undefined)

    expect(seen).toEqual(['a1/b1', 'a1/b2'])
    expect(counts).toEqual({ conflicts: 2, resolved: 2 })
    expect(emitted.filter(([name]) => name === 'conflict')).toHaveLength(2)
    expect(await queue.decide(undefined)).toEqual({ conflicts: 0, resolved: 0 })
  })

  it('Given a sync aborted while a conflict is decided, then it and the rest stay queued for the next decide', async () => {
    let abort = true
    const { queue, store } = queueWith((conflict) => {
      if (abort) return Promise.reject(new SyncKitError('aborted', 'aborted', {}))
      return Promise.resolve(keepLocal(conflict.local.event.id))
    })
    const a1 = await stored(store, 'a1', 'a', { a: 1 })
    queue.add(a1, await stored(store, 'b1', 'b', { b: 1 }))
    queue.add(a1, await stored(store, 'c1', 'c', { c: 1 }))

    await expect(queue.decide(undefined)).rejects.toSatisfy((e) => isSyncKitError(e, 'aborted'))
    abort = false

    expect(await queue.decide(undefined)).toEqual({ conflicts: 2, resolved: 2 })
  })

  it('Given a resolver that throws, or returns an event the store refuses, then the conflict is reported as resolver-failed and leaves the queue', async () => {
    let call = 0
    const { queue, store, emitted } = queueWith(() => {
      call++
      if (call === 1) return Promise.reject(new Error('boom'))
      const broken = { id: 'merge', type: 'T', aggregateId: 'doc' } as never
      return Promise.resolve({ resolvedEvents: [broken], decision: 'merge', reasons: [] })
    })
    const a1 = await stored(store, 'a1', 'a', { a: 1 })
    queue.add(a1, await stored(store, 'b1', 'b', { b: 1 }))
    queue.add(a1, await stored(store, 'c1', 'c', { c: 1 }))

    const counts = await queue.decide(undefined)

    const failures = emitted.filter(([, e]) => isSyncKitError(e, 'resolver-failed'))
    expect(counts).toEqual({ conflicts: 2, resolved: 0 })
    expect(failures.map(([, e]) => (e as Error).message)).toEqual([
      '[sync-kit] [sync-manager] resolver failed on aggregate "doc"',
      '[sync-kit] [sync-manager] the resolver returned an event the store refuses, on aggregate "doc"; resolved events must be valid and have ids of their own',
    ])
    expect(emitted.some(([name]) => name === 'conflict')).toBe(false)
  })

  it('Given a resolution with a new event, then the event is stored and observed, and a deferred conflict does not count as resolved', async () => {
    let defer = false
    const { queue, store, causal } = queueWith((conflict) => {
      if (defer) return Promise.resolve({ resolvedEvents: [], decision: 'defer', reasons: [] })
      const merge = {
        id: 'm1',
        type: 'Merged',
        aggregateId: 'doc',
        data: {},
        metadata: { origin: 'a', causal: 'a:2,b:1' },
      }
      return Promise.resolve({
        resolvedEvents: [conflict.local.event, merge],
        decision: 'merge',
        reasons: [],
      })
    })
    await causal.init(undefined)
    const a1 = await stored(store, 'a1', 'a', { a: 1 })
    const b1 = await stored(store, 'b1', 'b', { b: 1 })
    queue.add(a1, b1)

    expect(await queue.decide(undefined)).toEqual({ conflicts: 1, resolved: 1 })
    expect((await store.load(null)).map((e) => e.event.id)).toEqual(['a1', 'b1', 'm1'])
    expect(causal.stamp((s) => s.causal)).toBe('a:3,b:1')

    defer = true
    queue.add(a1, b1)
    expect(await queue.decide(undefined)).toEqual({ conflicts: 1, resolved: 0 })
  })
})
