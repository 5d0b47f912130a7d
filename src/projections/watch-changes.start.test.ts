import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type { Event, EventStore } from '../types/index.js'
import { watchChanges } from './watch-changes.js'
import { delegating } from './watch-changes.fixture.js'

const ev = (id: string): Event => ({ id, type: 'noted', aggregateId: 'a', data: {}, metadata: {} })

describe('watchChanges: a failed start', () => {
  it('Given a store whose first latestVersion fails, When events are stored after it, Then the watcher stops and says so instead of skipping them', async () => {
    const inner = createMemoryStore()
    let failures = 1
    const store: EventStore = {
      ...delegating(inner),
      latestVersion: (...args) =>
        failures-- > 0 ? Promise.reject(new Error('disk busy')) : inner.latestVersion(...args),
    }
    const errors: unknown[] = []
    const seen: string[] = []
    watchChanges(store, ({ events }) => void seen.push(...events.map((e) => e.event.id)), {
      onError: (error) => errors.push(error),
    })
    await expect.poll(() => errors.length).toBe(1)
    expect(isSyncKitError(errors[0], 'unavailable')).toBe(true)
    expect(String(errors[0])).toContain('call it again')
    expect((errors[0] as Error).cause).toBeInstanceOf(Error)
    await inner.store(ev('after-1'))
    await inner.store(ev('after-2'))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(seen).toEqual([])
    expect(errors).toHaveLength(1)
    // Called again, it starts from the head and delivers what comes next.
    const stop = watchChanges(
      store,
      ({ events }) => void seen.push(...events.map((e) => e.event.id)),
    )
    await new Promise((resolve) => setTimeout(resolve, 10))
    await inner.store(ev('after-3'))
    await expect.poll(() => seen).toEqual(['after-3'])
    stop()
  })
})
