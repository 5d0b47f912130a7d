import { isEventStore } from '../../core/store-shape.js'
import { validateLimit } from '../../core/filters.js'
import { checkEpoch } from '../../core/epoch.js'
import { signalOptions, throwIfAborted } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import { WorkTracker, createSyncServer } from '../../server/index.js'
import type { SyncServer } from '../../server/index.js'
import type {
  Event,
  EventHandler,
  EventStore,
  PullOptions,
  PullResult,
  PushOptions,
  PushResult,
  SignalOptions,
  SubscribeOptions,
  Subscription,
  Version,
} from '../../types/index.js'
import type { AfterStore, CallHooks } from './hub-hooks.js'
import { HubDelivery } from './hub-delivery.js'
import type { HubDeliveryHost } from './hub-delivery.js'
import { DEFAULT_LOOPBACK_PAGE_LIMIT } from './loopback-hub-api.js'
import type { LoopbackHub, LoopbackHubOptions } from './loopback-hub-api.js'
import {
  asSyncKitError,
  badArgument as badOption,
  checkClientId,
  checkOpen,
  checkFilters,
} from './loopback-checks.js'
import { LoopbackConnection } from './loopback-transport.js'
import type { ConnectionHost, LoopbackOp } from './loopback-transport.js'

/** Options of the test hub; the plain hub refuses them, naming where they went. */
const TEST_HUB_OPTIONS = ['latencyMs', 'clock', 'timers', 'offlineDeliveries']

/**
 * Creates an in-process sync hub (a "server" in memory) that clients connect to with
 * `hub.connect(clientId)`: the transport for tests, demos and same-process replicas.
 *
 * The hub is a thin adapter over the server core (`src/server/`), which does what a remote does:
 * pushes are validated (`validateEvent`) and stored idempotently by id in one `storeBatch` (all or
 * nothing; stores without `storeBatch` get one `store` call per event), then fanned out to every
 * live subscription in version order; pulls are paged with `hasMore` and the hub's `epoch`.
 * A push is copied (and deep-frozen) on its way in, as a client serialising its request would;
 * what a client receives is the log's own frozen event, shared, never copied again: nobody can
 * change it. `settle()` waits for calls and deliveries, `reset()` simulates a replaced server with
 * a new epoch.
 *
 * Fault injection (failed calls, lost acknowledgements, offline clients, partitions, dropped /
 * duplicated / reordered deliveries), latency and a record of calls live in `createTestHub` from
 * `sync-kit/testing`, so an app that ships this hub does not ship them.
 *
 * @param options - store, epoch, randomness, page size; see {@link LoopbackHubOptions}.
 * @returns the hub.
 * @throws SyncKitError `invalid-argument` for malformed options, and for an option of the test
 * hub (`latencyMs`, `clock`, `timers`, `offlineDeliveries`: use `createTestHub`).
 * @example
 * ```ts
 * import { createLoopbackHub } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * const event = { id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }
 * await hub.connect('a').push([event]) // { stored: 1, duplicates: 0, epoch: hub.epoch }
 * await hub.connect('b').pull(null) // { events: [{ event, version }], hasMore: false, epoch }
 * ```
 */
export function createLoopbackHub(options: LoopbackHubOptions = {}): LoopbackHub {
  // The plain hub has no simulated network: an option of the test hub says where it went.
  for (const name of TEST_HUB_OPTIONS) {
    if ((options as Record<string, unknown> | null)?.[name] !== undefined) {
      throw badOption(name, `${name} is an option of createTestHub (sync-kit/testing)`)
    }
  }
  return new Hub(options)
}

/** The result of a call's work: its value and the event count for the call record. */
export interface Outcome<T> {
  readonly value: T
  readonly events: number
}

/**
 * The hub. `createTestHub` extends it, overriding the hook points (before each call, after it
 * stored, when it finished) and the deliveries of subscriptions to plug its simulated network in.
 */
export class Hub implements LoopbackHub, ConnectionHost, HubDeliveryHost, CallHooks {
  /** Every live delivery, one per subscription. */
  readonly live: Set<HubDelivery> = new Set<HubDelivery>()
  readonly #pageLimit: number
  /** The server core holding the current log; replaced by `reset()`. */
  #server: SyncServer
  /** The store option: an instance the caller owns, a factory, or `undefined` for the core's default. */
  readonly #storeOption: EventStore | (() => EventStore) | undefined
  readonly #ownsStore: boolean
  #currentEpoch: string
  #generation = 0
  readonly #randomSource: () => number
  readonly #connections = new Set<LoopbackConnection>()
  readonly #work = new WorkTracker()
  #isClosed = false

  /**
   * @param options - the hub's options (a test hub's included).
   */
  constructor(options: LoopbackHubOptions) {
    if (typeof options !== 'object' || options === null) {
      throw badOption('options', 'hub options must be an object')
    }
    const store = options.store
    if (store !== undefined && typeof store !== 'function' && !isEventStore(store)) {
      throw badOption(
        'store',
        'store must be an EventStore or a factory, e.g. () => createMemoryStore()',
      )
    }
    this.#storeOption = store
    this.#ownsStore = typeof store !== 'object'

    const random = options.random ?? Math.random
    if (typeof random !== 'function') throw badOption('random', 'random must be a function')
    this.#randomSource = random

    const pageLimit = options.pageLimit ?? DEFAULT_LOOPBACK_PAGE_LIMIT
    validateLimit(pageLimit, 'loopback')
    this.#pageLimit = pageLimit

    this.#currentEpoch =
      options.epoch === undefined ? this.#drawEpoch() : checkEpoch(options.epoch, 'loopback')
    this.#server = this.#openServer()
  }

  // ---- public hub API ------------------------------------------------------------------------

  get epoch(): string {
    return this.#currentEpoch
  }

  get store(): EventStore {
    return this.#server.store
  }

  get subscriptions(): number {
    return this.live.size
  }

  connect(clientId: string): LoopbackConnection {
    checkClientId(clientId)
    if (this.#isClosed) {
      throw new SyncKitError(
        'transport-closed',
        `[sync-kit] [loopback] cannot connect "${clientId}": the hub is closed; create a new hub`,
        {},
      )
    }
    const connection = new LoopbackConnection(this, clientId)
    this.#connections.add(connection)
    return connection
  }

  async reset(): Promise<void> {
    if (this.#isClosed) {
      throw new SyncKitError(
        'transport-closed',
        '[sync-kit] [loopback] cannot reset a closed hub',
        {},
      )
    }
    if (!this.#ownsStore) {
      throw badOption(
        'store',
        'reset() needs a store factory, e.g. store: () => createMemoryStore(), not a store',
      )
    }
    const old = this.#server
    this.#generation++
    this.#currentEpoch = this.#drawEpoch()
    this.#server = this.#openServer()
    const error = new SyncKitError(
      'unavailable',
      `[sync-kit] [loopback] the hub was reset (new epoch "${this.#currentEpoch}"); ` +
        'subscribe again, dropping checkpoints of the old epoch',
      {},
    )
    for (const delivery of [...this.live]) delivery.end(error)
    // Pushes already on their way into the old log finish there, as on a server being replaced.
    await old.close()
    await old.store.close()
  }

  async settle(): Promise<void> {
    for (;;) {
      await this.#work.idle()
      await this.#server.idle()
      if (this.#work.size === 0) return
    }
  }

  async close(): Promise<void> {
    if (this.#isClosed) return
    this.#isClosed = true
    for (const connection of [...this.#connections]) await connection.close()
    await this.#server.close()
    if (this.#ownsStore) await this.#server.store.close()
  }

  // ---- connection host -----------------------------------------------------------------------

  push(
    connection: LoopbackConnection,
    events: readonly Event[],
    options?: PushOptions,
  ): Promise<PushResult> {
    const count = Array.isArray(events) ? events.length : 0
    return this.#call(connection, 'push', options, count, () => {
      const ifEpoch = options?.ifEpoch
      if (ifEpoch !== undefined && typeof ifEpoch !== 'string') {
        throw badOption('ifEpoch', 'push ifEpoch must be a string')
      }
      // Validate and copy now, as a client serialising its request would: later changes by the
      // caller cannot reach the hub, and an invalid event (or no array) fails the push before
      // anything is sent.
      const checked = this.#server.checkPush(events)
      return async () => {
        // The epoch is checked when the push reaches the log, as a server would.
        const result = await this.#server.push(checked, {
          ifEpoch,
          ...signalOptions(options?.signal),
        })
        const { stored, duplicates, epoch } = result
        return { value: { stored, duplicates, epoch }, events: count }
      }
    })
  }

  pull(
    connection: LoopbackConnection,
    since: Version | null,
    options: PullOptions = {},
  ): Promise<PullResult> {
    return this.#call(connection, 'pull', options, 0, () => {
      const limit = options.limit ?? this.#pageLimit
      validateLimit(limit, 'loopback')
      const filters = checkFilters(options.filters)
      const from = this.#parseSince(since)
      return async () => {
        const page = await this.#server.pull(from, {
          limit,
          filters,
          ...signalOptions(options?.signal),
        })
        const { events } = page
        return {
          value: { events, hasMore: page.hasMore, epoch: page.epoch },
          events: events.length,
        }
      }
    })
  }

  latestVersion(connection: LoopbackConnection, options?: SignalOptions): Promise<Version> {
    return this.#call(connection, 'latestVersion', options, 0, () => async () => {
      const head = await this.#server.latestVersion(signalOptions(options?.signal))
      return { value: head.latestVersion, events: 0 }
    })
  }

  subscribe(
    connection: LoopbackConnection,
    handler: EventHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    return this.#call(connection, 'subscribe', options, 0, () => {
      if (typeof handler !== 'function') {
        throw badOption('handler', 'subscribe takes a handler function that receives batches')
      }
      const { onError } = options
      if (onError !== undefined && typeof onError !== 'function') {
        throw badOption('onError', 'onError must be a function')
      }
      const filters = checkFilters(options.filters)
      const since = options.since === undefined ? null : this.#parseSince(options.since)
      return async () => {
        const delivery = this.deliver(connection, handler, onError, options.signal)
        try {
          delivery.epoch = await this.#server.epoch()
          // The core registers the feed before its replay reads the store: no live batch can
          // slip between; the delivery takes each batch synchronously and queues it.
          const feed = await this.#server.subscribe((batch) => delivery.offer(batch), {
            since,
            filters,
            limit: this.#pageLimit,
            onError: (error) => delivery.end(error),
          })
          delivery.attach(feed)
        } catch (error) {
          delivery.end()
          throw error
        }
        const handle: Subscription = { unsubscribe: () => delivery.unsubscribe() }
        return { value: handle, events: 0 }
      }
    })
  }

  parseVersion(value: string): Version {
    return this.#server.parseVersion(value)
  }

  disconnect(connection: LoopbackConnection): void {
    this.#connections.delete(connection)
    for (const delivery of [...this.live]) if (delivery.connection === connection) delivery.end()
  }

  /** The hub's random source, clamped to [0, 1). */
  random(): number {
    const r = this.#randomSource()
    return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0
  }

  /**
   * Lets `settle()` wait for the promise.
   * @param promise - work of the hub.
   */
  track(promise: Promise<unknown>): void {
    this.#work.track(promise)
  }

  // ---- hook points: the plain hub's; the test hub overrides them (see hub-hooks.ts) ---------

  before(
    _connection: LoopbackConnection,
    _op: LoopbackOp,
    _signal: AbortSignal | undefined,
  ): AfterStore | Promise<AfterStore> {
    return undefined
  }

  done(_clientId: string, _op: LoopbackOp, _events: number, _error?: SyncKitErrorCode): void {
    // The plain hub keeps no record of calls.
  }

  /**
   * Makes the delivery of a new subscription: the handler is called with each batch.
   * @param connection - the subscriber's connection.
   * @param handler - the client's handler.
   * @param onError - the client's error hook.
   * @param signal - ends the subscription when it aborts.
   * @returns the delivery, registered in {@link Hub.live}.
   */
  deliver(
    connection: LoopbackConnection,
    handler: EventHandler,
    onError: ((error: unknown) => void) | undefined,
    signal: AbortSignal | undefined,
  ): HubDelivery {
    return new HubDelivery(this, connection, handler, onError, signal)
  }

  // ---- internals -----------------------------------------------------------------------------

  /**
   * Runs one call: the closed and abort checks, the call's own argument checks (`prepare`), the
   * `before` hook, the work on the server core, the hook's after-store check; then reports the
   * outcome to the `done` hook.
   * @param connection - the caller's connection.
   * @param op - the call.
   * @param options - its signal.
   * @param count - events sent, for the record of a call that fails before its work.
   * @param prepare - synchronous argument checks and copies; returns the work.
   * @returns what the work returns.
   */
  #call<T>(
    connection: LoopbackConnection,
    op: LoopbackOp,
    options: SignalOptions | undefined,
    count: number,
    prepare: () => () => Promise<Outcome<T>>,
  ): Promise<T> {
    const promise = this.#run(connection, op, options?.signal, count, prepare)
    this.#work.track(promise)
    return promise
  }

  async #run<T>(
    connection: LoopbackConnection,
    op: LoopbackOp,
    signal: AbortSignal | undefined,
    count: number,
    prepare: () => () => Promise<Outcome<T>>,
  ): Promise<T> {
    let events = count
    const generation = this.#generation
    try {
      checkOpen(connection, op)
      throwIfAborted(signal, `[loopback] ${op}`)
      const work = prepare()
      const before = this.before(connection, op, signal)
      // A promise only when the test hub delays the call: without latency the work starts now.
      const afterStore = before instanceof Promise ? await before : before
      const outcome = await work()
      events = outcome.events
      afterStore?.()
      this.done(connection.clientId, op, events)
      return outcome.value
    } catch (error) {
      const reported = this.#clientError(error, op, generation)
      this.done(connection.clientId, op, events, reported.code)
      throw reported
    }
  }

  /**
   * The error a client sees. When `reset()` or `close()` closes the hub's own store under a call
   * in flight, the store rejects with `closed`; to a client that is the server going away:
   * `unavailable` after a reset (retry: the new log answers), `transport-closed` after `close()`.
   */
  #clientError(error: unknown, op: LoopbackOp, generation: number): SyncKitError {
    if (isSyncKitError(error, 'closed') && this.#ownsStore) {
      if (this.#isClosed) {
        return new SyncKitError(
          'transport-closed',
          `[sync-kit] [loopback] ${op} failed: the hub was closed during the call`,
          {},
          { cause: error },
        )
      }
      if (this.#generation !== generation) {
        return new SyncKitError(
          'unavailable',
          `[sync-kit] [loopback] ${op} failed: the hub was reset (new epoch ` +
            `"${this.#currentEpoch}"); retry, dropping checkpoints of the old epoch`,
          {},
          { cause: error },
        )
      }
    }
    return asSyncKitError(error, op)
  }

  #parseSince(since: Version | null | undefined): Version | null {
    // As if the version travelled as a string: only this hub's own version format is accepted.
    return since === null || since === undefined ? null : this.#server.parseVersion(String(since))
  }

  /**
   * A server core over a fresh log: the factory's store, the caller's instance, or the core's
   * default. Only events pushed through the hub reach its log, so the core hands them to live
   * subscriptions directly. No access policy: the hub has no tenants and no limits (its page size
   * is applied by the hub's calls).
   */
  #openServer(): SyncServer {
    const option = this.#storeOption
    const store = typeof option === 'function' ? option() : option
    if (store !== undefined && !isEventStore(store)) {
      throw badOption('store', 'the store factory must return an EventStore')
    }
    return createSyncServer({
      store,
      epoch: this.#currentEpoch,
      soleWriter: true,
      component: 'loopback',
    })
  }

  #drawEpoch(): string {
    let id = ''
    // One base-36 digit (0-9, a-z) per draw: random() is in [0, 1).
    for (let i = 0; i < 16; i++) id += Math.floor(this.random() * 36).toString(36)
    // The generation makes every reset's epoch differ even with a constant random source.
    return `loopback-${id}-${this.#generation}`
  }
}
