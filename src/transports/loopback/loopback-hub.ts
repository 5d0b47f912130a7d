import { compileFilters, validateLimit } from '../../core/filters.js'
import { resolveTimers } from '../../core/timers.js'
import { delay, throwIfAborted } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import { WorkTracker, createSyncServer } from '../../server/index.js'
import type { SyncServer } from '../../server/index.js'
import type {
  Clock,
  Event,
  EventHandler,
  EventStore,
  EventWithVersion,
  Filter,
  PullOptions,
  PullResult,
  PushOptions,
  PushResult,
  SignalOptions,
  SubscribeOptions,
  Subscription,
  Timers,
  Version,
} from '../../types/index.js'
import { badArgument as badOption } from './faults.js'
import type { FailNextOptions, InjectedFailure, LoopbackFaults, LoopbackOp } from './faults.js'
import { LiveDelivery, Network, checkClientId } from './network-simulation.js'
import type { NetworkHost } from './network-simulation.js'
import { LoopbackConnection } from './loopback-transport.js'
import type {
  ConnectionHost,
  LoopbackConnectOptions,
  LoopbackLatency,
  LoopbackTransport,
} from './loopback-transport.js'

/**
 * Default page size of a pull without `limit`, and of a subscription's replay: 500 events.
 *
 * @example
 * ```ts
 * import { DEFAULT_LOOPBACK_PAGE_LIMIT, createLoopbackHub } from 'sync-kit'
 *
 * const hub = createLoopbackHub({ pageLimit: DEFAULT_LOOPBACK_PAGE_LIMIT * 2 })
 * ```
 */
export const DEFAULT_LOOPBACK_PAGE_LIMIT = 500

/**
 * Options for {@link createLoopbackHub}.
 *
 * @example
 * ```ts
 * import { createLoopbackHub, createMemoryStore } from 'sync-kit'
 * import { TestClock } from 'sync-kit/testing'
 *
 * const clock = new TestClock()
 * const hub = createLoopbackHub({
 *   store: () => createMemoryStore(),
 *   clock, // its setTimeout/clearTimeout time the latency (or give them as timers)
 *   latencyMs: ({ op }) => (op === 'pull' ? 30 : 10),
 *   random: () => 0.42,
 *   pageLimit: 100,
 *   offlineDeliveries: 'drop',
 * })
 * ```
 */
export interface LoopbackHubOptions {
  /**
   * The hub's event log: a store instance, or a factory. With a factory (or the default) the hub
   * owns its stores: `reset()` replaces the store with a fresh one and `close()` closes it. With
   * an instance the caller owns it: `reset()` is refused and `close()` leaves it open. Only
   * events pushed through the hub are delivered live.
   * @defaultValue `() => createMemoryStore()`
   */
  readonly store?: EventStore | (() => EventStore)
  /**
   * The epoch of the initial log (see `PullResult.epoch`); `reset()` draws a new one.
   * @defaultValue a random id drawn from `random`
   */
  readonly epoch?: string
  /**
   * Latency of every call, in ms, before the hub acts on it; a number or a function of the call
   * (for jitter). Live deliveries have no latency, only ordering faults.
   * @defaultValue 0 (no timer at all)
   */
  readonly latencyMs?: LoopbackLatency
  /**
   * Wall-clock source for call records. When it also has `setTimeout`/`clearTimeout` (like
   * `TestClock`), those time the latency unless `timers` is given.
   * @defaultValue `Date.now`
   */
  readonly clock?: Clock & Partial<Timers>
  /**
   * Timers for the latency (a `TestClock` has both, so `timers: clock` works).
   * @defaultValue the clock's, else the global `setTimeout`/`clearTimeout`
   */
  readonly timers?: Timers
  /**
   * Random source in [0, 1) for every random choice of the hub (epochs, reordering); pass a
   * seeded one for repeatable runs.
   * @defaultValue `Math.random`
   */
  readonly random?: () => number
  /**
   * Page size of a pull without `limit` and of a subscription's replay.
   * @defaultValue {@link DEFAULT_LOOPBACK_PAGE_LIMIT} (500)
   */
  readonly pageLimit?: number
  /**
   * What happens to live deliveries for a client while it is offline or partitioned away:
   * `'withhold'` keeps them and delivers them when it is back; `'drop'` loses them (the client
   * must catch up by pulling, as after a lost connection).
   * @defaultValue `'withhold'`
   */
  readonly offlineDeliveries?: 'withhold' | 'drop'
}

/**
 * One call a client made to the hub, as recorded in `hub.calls`.
 *
 * @example
 * ```ts
 * import { createLoopbackHub, type LoopbackCall } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * await hub.connect('a').pull(null)
 * const [call]: readonly LoopbackCall[] = hub.calls // { clientId: 'a', op: 'pull', events: 0, ok: true, at: … }
 * ```
 */
export interface LoopbackCall {
  /** The calling client. */
  readonly clientId: string
  /** The kind of call. */
  readonly op: LoopbackOp
  /** Events sent (push) or received (pull); 0 for the other calls. */
  readonly events: number
  /** True when the call resolved. */
  readonly ok: boolean
  /** The error code when the call rejected (`internal` for a non-sync-kit error). */
  readonly error?: SyncKitErrorCode
  /** When the call finished, in the hub clock's ms. */
  readonly at: number
}

/**
 * An in-process sync server that any number of clients connect to, with fault injection for
 * tests. See {@link createLoopbackHub}.
 *
 * The hub-wide fault methods it inherits from {@link LoopbackFaults} apply to every client;
 * `hub.client(id)` gives the same methods for one client. `hub.clearFaults()` clears both.
 *
 * @example
 * ```ts
 * import { createLoopbackHub } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * const [a, b] = [hub.connect('a'), hub.connect('b')]
 * await b.subscribe((batch) => console.log('b got', batch.length))
 * hub.partition([['a'], ['b']]) // b is cut off: its deliveries wait
 * await a.push([{ id: 'e1', type: 'Created', aggregateId: 'x', data: {} }])
 * hub.heal()
 * await hub.settle() // logs 'b got 1'
 * console.log(hub.calls.map((call) => `${call.clientId} ${call.op} ${call.ok}`))
 * ```
 */
export interface LoopbackHub extends LoopbackFaults {
  /** The current epoch: the id of the current log; `reset()` changes it. */
  readonly epoch: string
  /** The current store holding the log (replaced by `reset()`); for inspection in tests. */
  readonly store: EventStore
  /** A snapshot of every call made so far, oldest first (see `clearCalls`). */
  readonly calls: readonly LoopbackCall[]
  /** How many live subscriptions are active. */
  readonly subscriptions: number
  /**
   * Connects a client. A client id may connect several times (e.g. after a reconnect); faults and
   * offline state belong to the id and apply to all its connections.
   * @param clientId - 1–256 characters, naming the client in faults and call records.
   * @param options - per-connection latency.
   * @returns the client's transport.
   * @throws SyncKitError `invalid-argument` for a bad id, `transport-closed` after `hub.close()`.
   */
  connect(clientId: string, options?: LoopbackConnectOptions): LoopbackTransport
  /**
   * The fault controls of one client (kept across reconnects).
   * @param clientId - the client id.
   * @returns the client's faults.
   * @throws SyncKitError `invalid-argument` for a bad id.
   */
  client(clientId: string): LoopbackFaults
  /**
   * Takes a client offline or brings it back: while offline every call rejects with
   * `unavailable`, its subscriptions get `onError(unavailable)` once and their live deliveries
   * are withheld (or dropped, see `offlineDeliveries`) until it is back online.
   * @param clientId - the client id.
   * @param offline - true to cut it off, false to reconnect it.
   * @throws SyncKitError `invalid-argument` for a bad id.
   */
  setOffline(clientId: string, offline: boolean): void
  /**
   * Whether a client is currently offline (by `setOffline` or `partition`).
   * @param clientId - the client id.
   * @returns true while its calls fail with `unavailable`.
   */
  isOffline(clientId: string): boolean
  /**
   * Splits the network. The hub is a star's centre, so a partition means: the clients of the
   * first group stay with the hub, every client named in another group is cut off exactly as by
   * `setOffline` (so clients in different groups cannot see each other's events, and — in this
   * star — neither can clients cut off together). Clients not named stay connected. Replaces any
   * previous partition.
   * @param groups - groups of client ids; the first keeps the hub.
   * @throws SyncKitError `invalid-argument` when groups are malformed or share a client.
   */
  partition(groups: readonly (readonly string[])[]): void
  /** Ends the partition: its clients are back (unless `setOffline` keeps them offline). */
  heal(): void
  /** Forgets the recorded calls. */
  clearCalls(): void
  /**
   * Simulates a replaced server: a fresh, empty store and a new epoch. Live subscriptions end
   * with `onError(unavailable)`; connections stay open and see the new epoch on their next call.
   * Recorded calls, faults and offline states are kept.
   * @throws SyncKitError `invalid-argument` when the hub was given a store instance (pass a
   * factory, `store: () => createMyStore()`), `transport-closed` after `hub.close()`.
   */
  reset(): Promise<void>
  /**
   * Resolves once every call in flight and every pending live delivery has completed, including
   * those started meanwhile. Deliveries withheld for offline clients are not waited for.
   *
   * It advances no timer: with latency on a `TestClock`, start it, then advance the clock:
   * `const settled = hub.settle(); await clock.advance(latencyMs); await settled` (or
   * `await clock.runAll(); await hub.settle()`). A handler that never returns never settles.
   */
  settle(): Promise<void>
  /** Closes every connection (their calls reject `transport-closed`) and, if owned, the store. */
  close(): Promise<void>
}

/** The result of a call's work: its value and the event count for the call record. */
interface Outcome<T> {
  readonly value: T
  readonly events: number
}

/**
 * Creates an in-process sync hub (a "server" in memory) that clients connect to with
 * `hub.connect(clientId)`: the transport for tests, demos and same-process replicas.
 *
 * The hub is a thin adapter over the server core (`src/server/`), which does what a remote does:
 * pushes are validated (`validateEvent`) and stored idempotently by id in one `storeBatch` (all or
 * nothing; stores without `storeBatch` get one `store` call per event), then fanned out to every
 * live subscription in version order; pulls are paged with `hasMore` and the hub's `epoch`. The
 * hub adds the simulated network. Everything crossing the hub is copied as if serialised.
 *
 * For tests: latency with an injectable timer (deterministic with `TestClock`), injected failures
 * (`failNext`, optionally after storing, to model a lost acknowledgement), offline clients and
 * partitions, dropped / duplicated / reordered live deliveries, a record of calls, `settle()` and
 * `reset()` (a replaced server with a new epoch). Random choices use the `random` option.
 *
 * @param options - store, epoch, latency, timers, randomness, page size; see
 * {@link LoopbackHubOptions}.
 * @returns the hub.
 * @throws SyncKitError `invalid-argument` for malformed options.
 * @example
 * ```ts
 * import { createLoopbackHub } from 'sync-kit'
 * import { TestClock } from 'sync-kit/testing'
 *
 * const clock = new TestClock()
 * const hub = createLoopbackHub({ clock, latencyMs: 20, random: () => 0.5 })
 * const a = hub.connect('a')
 * hub.client('a').failNext(1, { op: 'push', afterStore: true }) // the first ack is lost
 * const event = { id: 'e1', type: 'Created', aggregateId: 'a1', data: {} }
 * const first = a.push([event]).catch((error: unknown) => error)
 * await clock.advance(20)
 * await first // SyncKitError 'unavailable', but the hub stored e1
 * const retry = a.push([event])
 * await clock.advance(20)
 * await retry // { stored: 0, duplicates: 1, epoch: hub.epoch }
 * ```
 */
export function createLoopbackHub(options: LoopbackHubOptions = {}): LoopbackHub {
  return new Hub(options)
}

class Hub implements LoopbackHub, ConnectionHost, NetworkHost {
  readonly #pageLimit: number
  /** The server core holding the current log; replaced by `reset()`. */
  #server: SyncServer
  /** The store option: an instance the caller owns, a factory, or `undefined` for the core's default. */
  readonly #storeOption: EventStore | (() => EventStore) | undefined
  readonly #ownsStore: boolean
  #currentEpoch: string
  #generation = 0
  readonly #latency: LoopbackLatency
  readonly #clock: Clock
  readonly #timers: Timers
  readonly #randomSource: () => number
  readonly #network: Network
  readonly #connections = new Set<LoopbackConnection>()
  readonly #work = new WorkTracker()
  #recorded: LoopbackCall[] = []
  #isClosed = false

  constructor(options: LoopbackHubOptions) {
    if (typeof options !== 'object' || options === null) {
      throw badOption('options', 'createLoopbackHub options must be an object')
    }
    const store = options.store
    if (store !== undefined && typeof store !== 'function' && !isStore(store)) {
      throw badOption(
        'store',
        'store must be an EventStore or a function returning one, e.g. () => createMemoryStore()',
      )
    }
    this.#storeOption = store
    this.#ownsStore = typeof store !== 'object'

    const random = options.random ?? Math.random
    if (typeof random !== 'function') throw badOption('random', 'random must be a function')
    this.#randomSource = random

    const latency = options.latencyMs ?? 0
    if (typeof latency !== 'function') checkLatency(latency, 'latencyMs')
    this.#latency = latency

    const pageLimit = options.pageLimit ?? DEFAULT_LOOPBACK_PAGE_LIMIT
    validateLimit(pageLimit, 'loopback')
    this.#pageLimit = pageLimit

    const mode = options.offlineDeliveries ?? 'withhold'
    if (mode !== 'withhold' && mode !== 'drop') {
      throw badOption('offlineDeliveries', 'offlineDeliveries must be "withhold" or "drop"')
    }
    this.#network = new Network(this, mode)

    const clock = options.clock ?? { now: () => Date.now() }
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      throw badOption('clock', 'clock must be an object with a now() method, e.g. a TestClock')
    }
    this.#clock = clock
    this.#timers = resolveTimers(options.timers, clock, 'loopback')

    if (
      options.epoch !== undefined &&
      (typeof options.epoch !== 'string' || options.epoch === '')
    ) {
      throw badOption('epoch', 'epoch must be a non-empty string')
    }
    this.#currentEpoch = options.epoch ?? this.#drawEpoch()
    this.#server = this.#openServer()
  }

  // ---- public hub API ------------------------------------------------------------------------

  get epoch(): string {
    return this.#currentEpoch
  }

  get store(): EventStore {
    return this.#server.store
  }

  get calls(): readonly LoopbackCall[] {
    return Object.freeze([...this.#recorded])
  }

  get subscriptions(): number {
    return this.#network.live.size
  }

  connect(clientId: string, options: LoopbackConnectOptions = {}): LoopbackTransport {
    checkClientId(clientId)
    if (this.#isClosed) {
      throw new SyncKitError(
        'transport-closed',
        `[sync-kit] [loopback] cannot connect "${clientId}": the hub is closed; create a new hub`,
        {},
      )
    }
    if (options.latencyMs !== undefined && typeof options.latencyMs !== 'function') {
      checkLatency(options.latencyMs, 'latencyMs')
    }
    const connection = new LoopbackConnection(this, clientId, options.latencyMs)
    this.#connections.add(connection)
    return connection
  }

  client(clientId: string): LoopbackFaults {
    return this.#network.client(clientId)
  }

  failNext(n: number, options?: FailNextOptions): void {
    this.#network.faults.failNext(n, options)
  }

  dropNextDeliveries(n: number): void {
    this.#network.faults.dropNextDeliveries(n)
  }

  duplicateNextDeliveries(n: number): void {
    this.#network.faults.duplicateNextDeliveries(n)
  }

  reorderDeliveries(enabled: boolean): void {
    this.#network.faults.reorderDeliveries(enabled)
  }

  clearFaults(): void {
    this.#network.clearFaults()
  }

  setOffline(clientId: string, offline: boolean): void {
    checkClientId(clientId)
    if (typeof offline !== 'boolean') {
      throw badOption('offline', 'setOffline takes a boolean: true to cut the client off')
    }
    this.#network.setOffline(clientId, offline)
  }

  isOffline(clientId: string): boolean {
    return this.#network.isOffline(clientId)
  }

  partition(groups: readonly (readonly string[])[]): void {
    this.#network.partition(groups)
  }

  heal(): void {
    this.#network.heal()
  }

  clearCalls(): void {
    this.#recorded = []
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
        'reset() needs to create a fresh store, but the hub was given a store instance; ' +
          'pass a factory instead, e.g. store: () => createMemoryStore()',
      )
    }
    const old = this.#server
    this.#generation++
    this.#currentEpoch = this.#drawEpoch()
    this.#server = this.#openServer()
    const error = new SyncKitError(
      'unavailable',
      `[sync-kit] [loopback] the hub was reset (new epoch "${this.#currentEpoch}"); ` +
        'subscribe again and discard checkpoints taken against the old epoch',
      {},
    )
    for (const delivery of [...this.#network.live]) delivery.end(error)
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
        const result = await this.#server.push(checked, { ifEpoch, ...signalOf(options) })
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
      const filters = copyFilters(options.filters)
      compileFilters(filters, 'loopback')
      const from = this.#parseSince(since)
      return async () => {
        const page = await this.#server.pull(from, { limit, filters, ...signalOf(options) })
        const events = page.events.map((item) => this.copy(item))
        return {
          value: { events, hasMore: page.hasMore, epoch: page.epoch },
          events: events.length,
        }
      }
    })
  }

  latestVersion(connection: LoopbackConnection, options?: SignalOptions): Promise<Version> {
    return this.#call(connection, 'latestVersion', options, 0, () => async () => {
      const head = await this.#server.latestVersion(signalOf(options))
      return { value: this.#copyVersion(head.latestVersion), events: 0 }
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
      const onError = options.onError
      if (onError !== undefined && typeof onError !== 'function') {
        throw badOption('onError', 'onError must be a function')
      }
      const filters = copyFilters(options.filters) ?? []
      compileFilters(filters, 'loopback')
      const since = options.since === undefined ? null : this.#parseSince(options.since)
      return async () => {
        const delivery = new LiveDelivery(
          this.#network,
          connection.clientId,
          handler,
          onError,
          options.signal,
          (ended) => connection.release(ended),
        )
        connection.attach(delivery)
        try {
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
  }

  // ---- network host --------------------------------------------------------------------------

  random(): number {
    const r = this.#randomSource()
    return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0
  }

  copy(item: EventWithVersion): EventWithVersion {
    return {
      event: JSON.parse(JSON.stringify(item.event)) as Event,
      version: this.#copyVersion(item.version),
    }
  }

  track(promise: Promise<unknown>): void {
    this.#work.track(promise)
  }

  // ---- internals -----------------------------------------------------------------------------

  /**
   * Runs one call: closed and abort checks, `prepare` (synchronous argument checks and copies),
   * latency, offline and injected failures, then the work; records the outcome.
   */
  #call<T>(
    connection: LoopbackConnection,
    op: LoopbackOp,
    options: SignalOptions | undefined,
    count: number,
    prepare: () => () => Promise<Outcome<T>>,
  ): Promise<T> {
    const promise = this.#runCall(connection, op, options?.signal, count, prepare)
    this.track(promise)
    return promise
  }

  async #runCall<T>(
    connection: LoopbackConnection,
    op: LoopbackOp,
    signal: AbortSignal | undefined,
    count: number,
    prepare: () => () => Promise<Outcome<T>>,
  ): Promise<T> {
    let events = count
    const generation = this.#generation
    try {
      this.#checkOpen(connection, op)
      throwIfAborted(signal, `[loopback] ${op}`)
      const work = prepare()
      const ms = this.#latencyOf(connection, op)
      if (ms > 0) {
        try {
          await delay(ms, signal, this.#timers.setTimeout, this.#timers.clearTimeout)
        } catch (error) {
          throw isSyncKitError(error, 'aborted') ? aborted(op, signal) : error
        }
        this.#checkOpen(connection, op)
      }
      if (this.isOffline(connection.clientId)) {
        throw new SyncKitError(
          'unavailable',
          `[sync-kit] [loopback] ${op} failed: client "${connection.clientId}" is offline ` +
            '(setOffline or partition); retry once it is back online',
          {},
        )
      }
      const failure = this.#network.takeFailure(connection.clientId, op)
      if (failure !== undefined && !failure.afterStore) throw injected(failure, op, ms)
      const outcome = await work()
      events = outcome.events
      if (failure !== undefined) throw injected(failure, op, ms)
      this.#record(connection.clientId, op, events, undefined)
      return outcome.value
    } catch (error) {
      const reported = this.#clientError(error, op, generation)
      this.#record(connection.clientId, op, events, reported.code)
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
          `[sync-kit] [loopback] ${op} failed: the hub was reset during the call (new epoch ` +
            `"${this.#currentEpoch}"); retry, and discard checkpoints of the old epoch`,
          {},
          { cause: error },
        )
      }
    }
    return asSyncKitError(error, op)
  }

  #checkOpen(connection: LoopbackConnection, op: LoopbackOp): void {
    if (connection.closed) {
      throw new SyncKitError(
        'transport-closed',
        `[sync-kit] [loopback] ${op} on a closed transport (client "${connection.clientId}"); ` +
          'connect again with hub.connect()',
        {},
      )
    }
  }

  #latencyOf(connection: LoopbackConnection, op: LoopbackOp): number {
    const latency = connection.latencyMs ?? this.#latency
    if (typeof latency === 'number') return latency
    const ms = latency({ clientId: connection.clientId, op })
    checkLatency(ms, 'the latencyMs function result')
    return ms
  }

  #parseSince(since: Version | null | undefined): Version | null {
    // As if the version travelled as a string: only this hub's own version format is accepted.
    return since === null || since === undefined ? null : this.#server.parseVersion(String(since))
  }

  #copyVersion(version: Version): Version {
    return this.#server.parseVersion(version.toString())
  }

  #record(
    clientId: string,
    op: LoopbackOp,
    events: number,
    error: SyncKitErrorCode | undefined,
  ): void {
    const at = this.#clock.now()
    this.#recorded.push(
      error === undefined
        ? { clientId, op, events, ok: true, at }
        : { clientId, op, events, ok: false, error, at },
    )
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
    if (store !== undefined && !isStore(store)) {
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
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz'
    let id = ''
    for (let i = 0; i < 16; i++) id += alphabet[Math.floor(this.random() * alphabet.length)] ?? '0'
    // The generation makes every reset's epoch differ even with a constant random source.
    return `loopback-${id}-${this.#generation}`
  }
}

function isStore(value: unknown): value is EventStore {
  if (typeof value !== 'object' || value === null) return false
  const s = value as Record<string, unknown>
  return ['store', 'load', 'latestVersion', 'parseVersion', 'close'].every(
    (method) => typeof s[method] === 'function',
  )
}

function checkLatency(ms: unknown, what: string): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw badOption(
      'latencyMs',
      `${what} must be a finite number of ms ≥ 0 (or a function returning one), got ${String(ms)}`,
    )
  }
}

function copyFilters(filters: readonly Filter[] | undefined): readonly Filter[] | undefined {
  if (filters === undefined) return undefined
  if (!Array.isArray(filters)) return filters // compileFilters rejects it with a clear message
  return filters.map((f: unknown) =>
    typeof f === 'object' && f !== null ? { ...(f as Filter) } : (f as Filter),
  )
}

function signalOf(
  options: { readonly signal?: AbortSignal | undefined } | undefined,
): SignalOptions {
  return options?.signal === undefined ? {} : { signal: options.signal }
}

function aborted(op: LoopbackOp, signal: AbortSignal | undefined): SyncKitError<'aborted'> {
  return new SyncKitError(
    'aborted',
    `[sync-kit] [loopback] ${op} was aborted`,
    {},
    {
      cause: signal?.reason,
    },
  )
}

function injected(failure: InjectedFailure, op: LoopbackOp, latencyMs: number): SyncKitError {
  const what = failure.afterStore
    ? `${op} failed after the hub stored the events (injected lost acknowledgement); retrying is safe: the hub reports them as duplicates`
    : `${op} failed (injected ${failure.code}); retry with backoff`
  const message = `[sync-kit] [loopback] ${what}`
  return failure.code === 'timeout'
    ? new SyncKitError('timeout', message, { timeoutMs: latencyMs })
    : new SyncKitError('unavailable', message, {})
}

function asSyncKitError(error: unknown, op: LoopbackOp): SyncKitError {
  if (isSyncKitError(error)) return error
  return new SyncKitError(
    'internal',
    `[sync-kit] [loopback] ${op} failed in the hub's store: ${error instanceof Error ? error.message : String(error)}`,
    {},
    { cause: error },
  )
}
