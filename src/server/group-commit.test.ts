/**
 * A sole writer's group commit (issue 10): the pushes that wait for the same turn are stored in
 * one `storeBatch`, each answered with its own counts, feeds handed every event once, in order;
 * a push that fails the group fails alone.
 */
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import type { Event } from '../types/index.js'
import { countingStore, event, grouped, ids, outcomes, recordFeed } from './group-commit.fixture.js'
import { createAccessPolicy, createSyncServer, groupCommit } from './index.js'

describe('server core: group commit of a sole writer', () => {
  it('Given group commit, When 20 pushes come in one pass (one repeating another’s id), Then one storeBatch stores them all, each push gets its own counts and the new head, and a feed gets every event once, in order', async () => {
    const inner = createMemoryStore()
    const { store, calls } = countingStore(inner)
    const server = grouped(store)
    const batches = await recordFeed(server)
    const pushes = Array.from({ length: 20 }, (_, i) =>
      server.push(server.checkPush(i === 19 ? [event('p3'), event('p19')] : [event(`p${i}`)])),
    )
    const results = await Promise.all(pushes)
    expect(calls).toEqual([21])
    results.slice(0, 19).forEach((r) => expect(r).toMatchObject({ stored: 1, duplicates: 0 }))
    // p3 was stored by the fourth push of the same commit: a duplicate for the last one.
    expect(results[19]).toMatchObject({ stored: 1, duplicates: 1 })
    const head = (await inner.latestVersion()).toString()
    for (const r of results) expect(r.latestVersion.toString()).toBe(head)
    await server.idle()
    const delivered = batches.flatMap((b) => b.events)
    expect(ids(delivered)).toEqual(ids(await inner.load(null)))
    expect(new Set(ids(delivered)).size).toBe(20)
    await server.close()
  })

  it('Given group commit, When one push of a group conflicts with a stored event and another expects an old epoch, Then those two fail alone with their own codes and the others are stored and delivered', async () => {
    const inner = createMemoryStore()
    await inner.store(event('taken', { n: 1 }))
    const { store, calls } = countingStore(inner)
    const server = grouped(store)
    const batches = await recordFeed(server)
    const settled = await Promise.allSettled([
      server.push(server.checkPush([event('g1')])),
      server.push(server.checkPush([event('taken', { n: 2 })])),
      server.push(server.checkPush([event('g2')]), { ifEpoch: 'e-0' }),
      server.push(server.checkPush([event('g3'), event('g4')])),
    ])
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled'])
    const reason = (k: number): unknown => (settled[k] as PromiseRejectedResult).reason
    expect(isSyncKitError(reason(1), 'event-id-conflict')).toBe(true)
    expect(isSyncKitError(reason(2), 'epoch-mismatch')).toBe(true)
    // The group fails on the old epoch before any store call; then the pushes one by one (the
    // one of the old epoch again never reaches the store).
    expect(calls).toEqual([1, 1, 2])
    expect(ids(await inner.load(null))).toEqual(['taken', 'g1', 'g3', 'g4'])
    await server.idle()
    expect(ids(batches.flatMap((b) => b.events))).toEqual(['taken', 'g1', 'g3', 'g4'])
    await server.close()
  })

  it('Given group commit, When pushes wait together past 10,000 events, Then they are stored in more than one call, none split', async () => {
    const inner = createMemoryStore()
    const { store, calls } = countingStore(inner)
    const server = grouped(store)
    const big = (k: number): Event[] => Array.from({ length: 4_000 }, (_, i) => event(`b${k}.${i}`))
    const results = await Promise.all([
      server.push(server.checkPush(big(0))),
      server.push(server.checkPush(big(1))),
      server.push(server.checkPush([event('x')])),
      server.push(server.checkPush(big(2))),
    ])
    // 8,001 events, then the last push alone: 8,001 + 4,000 would pass 10,000.
    expect(calls).toEqual([8_001, 4_000])
    expect(results.map((r) => r.stored)).toEqual([4_000, 4_000, 1, 4_000])
    expect((await inner.load(null)).length).toBe(12_001)
    await server.close()
  })

  it('Given group commit over a SQLite database, When 30 pushes come together, Then one storeBatch (one transaction) stores them, once each, and close() waits for them', async () => {
    const sqlite = await openSqliteStore({ path: ':memory:' })
    const { store, calls } = countingStore(sqlite)
    const server = grouped(store)
    const pushes = Array.from({ length: 30 }, (_, i) =>
      server.push(server.checkPush([event(`s${i}`)])),
    )
    await server.close()
    expect(calls).toEqual([30])
    expect((await Promise.all(pushes)).every((r) => r.stored === 1)).toBe(true)
    expect(ids(await sqlite.load(null))).toEqual(Array.from({ length: 30 }, (_, i) => `s${i}`))
    await sqlite.close()
  })

  it('Given a sole writer without group commit, When pushes are made in one synchronous run, Then each is stored in a call of its own, in order, with no pass of the event loop', async () => {
    const inner = createMemoryStore()
    const { store, calls } = countingStore(inner)
    const server = createSyncServer({ store, epoch: 'e-1', soleWriter: true })
    // Stored and answered within microtasks: a timer set before them has not fired yet.
    let fired = false
    setTimeout(() => (fired = true), 0)
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => server.push(server.checkPush([event(`q${i}`)]))),
    )
    expect(fired).toBe(false)
    expect(calls).toEqual([1, 1, 1, 1, 1])
    expect(ids(await inner.load(null))).toEqual(['q0', 'q1', 'q2', 'q3', 'q4'])
    await server.close()
  })
})

describe('server core: group commit under attack', () => {
  it('Given group commit, When a push is not the result of checkPush, Then it alone is refused with invalid-argument and the pushes of its turn are stored', async () => {
    const inner = createMemoryStore()
    const server = grouped(inner)
    const settled = await outcomes([
      server.push(server.checkPush([event('v1')])),
      server.push(undefined as never),
      server.push({} as never),
      server.push({ events: [event('forged')] } as never),
      server.push(server.checkPush([event('v2')])),
    ])
    expect(settled).toEqual([
      { stored: 1, duplicates: 0 },
      'invalid-argument',
      'invalid-argument',
      'invalid-argument',
      { stored: 1, duplicates: 0 },
    ])
    expect(ids(await inner.load(null))).toEqual(['v1', 'v2'])
    await server.close()
  })

  it('Given group commit, When a push of 12,000 events waits with small ones, Then it is stored whole in a call of its own, the small ones before and after it in theirs', async () => {
    const inner = createMemoryStore()
    const { store, calls } = countingStore(inner)
    const server = grouped(store)
    const huge = Array.from({ length: 12_000 }, (_, i) => event(`h${i}`))
    const settled = await outcomes([
      server.push(server.checkPush([event('x1')])),
      server.push(server.checkPush(huge)),
      server.push(server.checkPush([event('x2')])),
      server.push(server.checkPush([event('x3'), event('h0')])),
    ])
    expect(calls).toEqual([1, 12_000, 3])
    expect(settled).toEqual([
      { stored: 1, duplicates: 0 },
      { stored: 12_000, duplicates: 0 },
      { stored: 1, duplicates: 0 },
      { stored: 1, duplicates: 1 },
    ])
    expect(inner.size).toBe(12_003)
    await server.close()
  })

  it('Given group commit, When a push is aborted while it waits for its turn, Then it is refused with aborted and stores nothing, as without group commit, and the others of its turn are stored in one call', async () => {
    for (const withGroups of [false, true]) {
      const inner = createMemoryStore()
      const { store, calls } = countingStore(inner)
      const server = withGroups
        ? grouped(store)
        : createSyncServer({ store, epoch: 'e-1', soleWriter: true })
      const controller = new AbortController()
      const pushes = [
        server.push(server.checkPush([event('a1')])),
        server.push(server.checkPush([event('a2')]), { signal: controller.signal }),
        server.push(server.checkPush([event('a3')])),
        server.push(server.checkPush([event('a4')])),
      ]
      controller.abort()
      expect(await outcomes(pushes), `group commit: ${withGroups}`).toEqual([
        { stored: 1, duplicates: 0 },
        'aborted',
        { stored: 1, duplicates: 0 },
        { stored: 1, duplicates: 0 },
      ])
      expect(ids(await inner.load(null))).toEqual(['a1', 'a3', 'a4'])
      // The aborted push went alone, refused by its signal; a1 before it and a3, a4 after it.
      if (withGroups) expect(calls).toEqual([1, 1, 2])
      await server.close()
    }
  })
})

describe('server core: what feeds get from a group commit', () => {
  it('Given an access policy (feed batches of at most 1,000 events), When 7 pushes of 1,000 events are committed together, Then a feed gets one batch per push, as without group commit, never one of the whole commit', async () => {
    const sizes: number[][] = []
    for (const withGroups of [false, true]) {
      const store = createMemoryStore()
      const server = createSyncServer({
        store,
        epoch: 'e-1',
        soleWriter: true,
        access: createAccessPolicy(),
        ...(withGroups ? { groupCommit: groupCommit() } : {}),
      })
      const batches: number[] = []
      await server.subscribe((batch) => {
        batches.push(batch.events.length)
      })
      await server.push(server.checkPush([event('warm')]))
      const big = (c: number): Event[] =>
        Array.from({ length: 1_000 }, (_, k) => event(`b${c}.${k}`))
      await Promise.all(Array.from({ length: 7 }, (_, c) => server.push(server.checkPush(big(c)))))
      await server.idle()
      sizes.push(batches)
      await server.close()
    }
    expect(sizes[0]).toEqual([1, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000])
    expect(sizes[1]).toEqual(sizes[0])
  })
})
