/**
 * How an app tests its own sync code with sync-kit's test tools: an in-memory store per device, a
 * test hub as the server (`createTestHub` from `sync-kit/testing`: the loopback hub with fault
 * injection — offline periods, a lost push acknowledgement) and a `TestClock` that drives the HLC stamps and the background-sync timers,
 * so every run is deterministic and nothing waits for real time.
 *
 * The "app" is a tiny todo list. Its sync code (`TodoSync` below) is what an app would keep in
 * its own source tree; the tests are what it would keep next to it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import {
  SyncManager,
  createMemoryStore,
  isSyncKitError,
  type EventStore,
  type EventWithVersion,
  type LoopbackHub,
  type Version,
} from 'sync-kit'
import { TestClock, createTestHub, type TestHub } from 'sync-kit/testing'

// --- The app's sync code ---------------------------------------------------------------------

/** A todo as the app shows it. */
interface Todo {
  readonly id: string
  readonly title: string
  readonly done: boolean
}

/** The app's events: one aggregate per todo. */
type TodoEvent =
  | { readonly type: 'TodoAdded'; readonly data: { readonly title: string } }
  | { readonly type: 'TodoRenamed'; readonly data: { readonly title: string } }
  | { readonly type: 'TodoCompleted'; readonly data: Record<string, never> }

/** Background sync period of the app, and its retry delays after a failure. */
const SYNC_INTERVAL_MS = 10_000
const BACKOFF = { initialMs: 1_000, maxMs: 8_000 } as const

/** One device's todo list, kept in sync with the server in the background. */
class TodoSync {
  readonly manager: SyncManager
  /** Errors of background syncs, for the app's "offline" badge. */
  readonly errors: unknown[] = []
  private readonly store: EventStore

  constructor(options: {
    readonly store: EventStore
    readonly hub: LoopbackHub
    readonly device: string
    readonly clock: TestClock
  }) {
    const { store, hub, device, clock } = options
    let nextId = 0
    this.store = store
    this.manager = new SyncManager({
      store,
      transport: hub.connect(device),
      nodeId: device,
      clock,
      timers: { setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout },
      // Deterministic ids and jitter, so a failing test replays exactly.
      generateId: () => `${device}-${++nextId}`,
      random: () => 0.5,
      intervalMs: SYNC_INTERVAL_MS,
      backoff: BACKOFF,
    })
    this.manager.on('error', (error) => this.errors.push(error))
  }

  async add(todoId: string, title: string): Promise<void> {
    await this.write(todoId, { type: 'TodoAdded', data: { title } })
  }

  async rename(todoId: string, title: string): Promise<void> {
    await this.write(todoId, { type: 'TodoRenamed', data: { title } })
  }

  async complete(todoId: string): Promise<void> {
    await this.write(todoId, { type: 'TodoCompleted', data: {} })
  }

  /** The list: every stored event applied in HLC order, so every device folds the same way. */
  async todos(): Promise<Todo[]> {
    const events: EventWithVersion[] = []
    let since: Version | null = null
    for (;;) {
      const page = await this.store.load(since, { limit: 100 })
      events.push(...page)
      const last = page.at(-1)
      if (last === undefined) break
      since = last.version
    }
    events.sort((a, b) => hlcOf(a).localeCompare(hlcOf(b)))
    const todos = new Map<string, Todo>()
    for (const { event } of events) {
      const todo = todos.get(event.aggregateId)
      const data = event.data as { title?: string }
      if (event.type === 'TodoAdded') {
        todos.set(event.aggregateId, {
          id: event.aggregateId,
          title: data.title ?? '',
          done: false,
        })
      } else if (todo !== undefined && event.type === 'TodoRenamed') {
        todos.set(todo.id, { ...todo, title: data.title ?? todo.title })
      } else if (todo !== undefined && event.type === 'TodoCompleted') {
        todos.set(todo.id, { ...todo, done: true })
      }
    }
    return [...todos.values()].sort((a, b) => a.id.localeCompare(b.id))
  }

  private async write(todoId: string, change: TodoEvent): Promise<void> {
    await this.manager.record({ ...change, aggregateId: todoId })
  }
}

function hlcOf(item: EventWithVersion): string {
  // HLC strings compare like HLC stamps; every event recorded by a SyncManager has one.
  return item.event.metadata?.hlc ?? ''
}

// --- The app's tests -------------------------------------------------------------------------

/** Resolves with `'synced'` after the manager's next sync, or with the error of its next failure. */
function nextOutcome(manager: SyncManager): Promise<unknown> {
  return new Promise((resolve) => {
    const stop = (): void => {
      offSync()
      offError()
    }
    const offSync = manager.on('sync', () => {
      stop()
      resolve('synced')
    })
    const offError = manager.on('error', (error) => {
      stop()
      resolve(error)
    })
  })
}

describe('todo sync (an app testing its own sync code)', () => {
  let clock: TestClock
  let hub: TestHub
  let phone: TodoSync
  let laptop: TodoSync

  beforeEach(() => {
    clock = new TestClock(Date.UTC(2025, 0, 1))
    hub = createTestHub({ clock })
    phone = new TodoSync({ store: createMemoryStore(), hub, device: 'phone', clock })
    laptop = new TodoSync({ store: createMemoryStore(), hub, device: 'laptop', clock })
  })

  afterEach(async () => {
    await phone.manager.close()
    await laptop.manager.close()
    await hub.close()
  })

  it('shows a todo added on the phone on the laptop after both sync', async () => {
    // Given a todo added on the phone
    await phone.add('t1', 'Buy milk')
    // When the phone syncs, then the laptop
    const pushed = await phone.manager.sync()
    const pulled = await laptop.manager.sync()
    // Then the laptop lists it, and the counts say what travelled
    expect(pushed).toMatchObject({ pushed: 1, pulled: 0, conflicts: 0 })
    expect(pulled).toMatchObject({ pushed: 0, pulled: 1, conflicts: 0 })
    expect(await laptop.todos()).toEqual([{ id: 't1', title: 'Buy milk', done: false }])
  })

  it('keeps todos written offline and delivers them once the background sync gets through', async () => {
    // Given the phone syncing in the background, and then offline (e.g. in a tunnel)
    let outcome = nextOutcome(phone.manager)
    phone.manager.start()
    await clock.advance(0) // the first background sync runs at once, while still online
    expect(await outcome).toBe('synced')
    hub.setOffline('phone', true)

    // When the user adds and completes a todo offline, and the next background sync comes due
    await phone.add('t1', 'Call mum')
    await phone.complete('t1')
    outcome = nextOutcome(phone.manager)
    await clock.advance(SYNC_INTERVAL_MS)

    // Then that sync failed with a transient error, the todo is still there locally, and the
    // server has nothing yet
    const failure = await outcome
    expect(isSyncKitError(failure, 'unavailable')).toBe(true)
    expect(phone.errors).toEqual([failure])
    expect(await phone.todos()).toEqual([{ id: 't1', title: 'Call mum', done: true }])
    expect(await hub.store.load(null)).toEqual([])

    // When the phone is back online and the backoff delay (at most BACKOFF.maxMs) passes
    hub.setOffline('phone', false)
    outcome = nextOutcome(phone.manager)
    await clock.advance(BACKOFF.maxMs)

    // Then the retry pushed both events, and the laptop sees the completed todo
    expect(await outcome).toBe('synced')
    expect(await hub.store.load(null)).toHaveLength(2)
    await laptop.manager.sync()
    expect(await laptop.todos()).toEqual([{ id: 't1', title: 'Call mum', done: true }])
  })

  it('stores each todo once when a push is stored but its acknowledgement is lost', async () => {
    // Given a push that reaches the server but whose answer never comes back
    await phone.add('t1', 'Water plants')
    hub.client('phone').failNext(1, { op: 'push', afterStore: true })

    // When the phone syncs, sees the failure, and syncs again
    let failure: unknown
    try {
      await phone.manager.sync()
    } catch (error) {
      failure = error
    }
    const retry = await phone.manager.sync()

    // Then the first sync failed with a retryable error, the retry re-sent the event, and the
    // server and the laptop hold it exactly once
    expect(isSyncKitError(failure, 'unavailable')).toBe(true)
    expect(retry.pushed).toBe(1)
    expect(await hub.store.load(null)).toHaveLength(1)
    await laptop.manager.sync()
    expect(await laptop.todos()).toEqual([{ id: 't1', title: 'Water plants', done: false }])
  })

  it('converges on the later rename when both devices rename the same todo offline', async () => {
    // Given a todo both devices have
    await phone.add('t1', 'Groceries')
    await phone.manager.sync()
    await laptop.manager.sync()
    const conflicts: string[] = []
    for (const device of [phone, laptop]) {
      device.manager.on('conflict', ({ conflict }) => conflicts.push(conflict.aggregateId))
    }

    // When the phone renames it, and a second later the laptop renames it too, before syncing
    await phone.rename('t1', 'Groceries for Sunday')
    await clock.advance(1_000)
    await laptop.rename('t1', 'Groceries (Lidl)')
    await phone.manager.sync()
    await laptop.manager.sync()
    await phone.manager.sync()

    // Then the concurrent renames were reported as a conflict, and both devices show the later
    // rename (its HLC stamp is greater)
    expect(conflicts).toContain('t1')
    const expected = [{ id: 't1', title: 'Groceries (Lidl)', done: false }]
    expect(await phone.todos()).toEqual(expected)
    expect(await laptop.todos()).toEqual(expected)
  })
})
