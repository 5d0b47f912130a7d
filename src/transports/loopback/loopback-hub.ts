import { validateEvent } from '../../core/event-validation.js'
import { compileFilters, validateLimit } from '../../core/filters.js'
import { delay, throwIfAborted } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
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
  StoreResult,
  SubscribeOptions,
  Subscription,
  Version,
} from '../../types/index.js'
import { FaultState } from './faults.js'
import type { FailNextOptions, InjectedFailure, LoopbackFaults, LoopbackOp } from './faults.js'
import { LiveSubscription } from './live-subscription.js'
import type { SubscriptionHost } from './live-subscription.js'
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

/** Longest client id accepted by `hub.connect`: 256 characters. */
const MAX_CLIENT_ID_LENGTH = 256

/**
 * Timer functions, compatible with the globals and with `TestClock`.
 *
 * @example
 * ```ts
 * import { createLoopbackHub, type LoopbackTimers } from 'sync-kit'
 * import { TestClock } from 'sync-kit/testing'
 *
 * const clock = new TestClock()
 * const timers: LoopbackTimers = { setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }
 * const hub = createLoopbackHub({ latencyMs: 5, ...timers })
 * ```
 */
export interface LoopbackTimers {
  /** Schedules `fn` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  readonly setTimeout: (fn: () => void, ms: number) => unknown
  /** Cancels a timer scheduled with `setTimeout`. */
  readonly clearTimeout: (handle: unknown) => void
}

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
 *   clock, // its setTimeout/clearTimeout time the latency
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
   * `TestClock`), those time the latency unless `setTimeout`/`clearTimeout` are given.
   * @defaultValue `Date.now`
   */
  readonly clock?: Clock & Partial<LoopbackTimers>
  /**
   * Timer used for latency; give it together with `clearTimeout`.
   * @defaultValue the clock's, else the global `setTimeout`
   */
  readonly setTimeout?: LoopbackTimers['setTimeout']
  /**
   * Cancels a latency timer when a call is aborted; give it together with `setTimeout`.
   * @defaultValue the clock's, else the global `clearTimeout`
   */
  readonly clearTimeout?: LoopbackTimers['clearTimeout']
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
 * Pushes are validated (`validateEvent`) and stored idempotently by id in one `storeBatch` (all or
 * nothing; stores without `storeBatch` get one `store` call per event), then fanned out to every
 * live subscription in version order. Pulls are paged with `hasMore` and the hub's `epoch`.
 * Everything crossing the hub is copied as if serialised.
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

class Hub implements LoopbackHub, ConnectionHost, SubscriptionHost {
  readonly pageLimit: number
  private currentStore: EventStore
  private readonly createStore: (() => EventStore) | undefined
  private currentEpoch: string
  private generation = 0
  private readonly latency: LoopbackLatency
  private readonly clock: Clock
  private readonly timers: LoopbackTimers
  private readonly randomSource: () => number
  private readonly offlineDeliveries: 'withhold' | 'drop'
  private readonly faults = new FaultState()
  private readonly clientFaults = new Map<string, FaultState>()
  private readonly offline = new Set<string>()
  private readonly partitioned = new Set<string>()
  private readonly connections = new Set<LoopbackConnection>()
  private readonly live = new Map<LiveSubscription, LoopbackConnection>()
  private readonly pending = new Set<Promise<unknown>>()
  private recorded: LoopbackCall[] = []
  /** Serialises writes so stored versions are fanned out in version order. */
  private writeQueue: Promise<unknown> = Promise.resolve()
  private isClosed = false

  constructor(options: LoopbackHubOptions) {
    if (typeof options !== 'object' || options === null) {
      throw badOption('options', 'createLoopbackHub options must be an object')
    }
    const store = options.store
    if (store === undefined) {
      this.createStore = () => createMemoryStore()
    } else if (typeof store === 'function') {
      this.createStore = store
    } else if (isStore(store)) {
      this.createStore = undefined
    } else {
      throw badOption(
        'store',
        'store must be an EventStore or a function returning one, e.g. () => createMemoryStore()',
      )
    }
    this.currentStore = this.createStore === undefined ? (store as EventStore) : this.openStore()

    const random = options.random ?? Math.random
    if (typeof random !== 'function') throw badOption('random', 'random must be a function')
    this.randomSource = random

    const latency = options.latencyMs ?? 0
    if (typeof latency !== 'function') checkLatency(latency, 'latencyMs')
    this.latency = latency

    const pageLimit = options.pageLimit ?? DEFAULT_LOOPBACK_PAGE_LIMIT
    validateLimit(pageLimit, 'loopback')
    this.pageLimit = pageLimit

    const mode = options.offlineDeliveries ?? 'withhold'
    if (mode !== 'withhold' && mode !== 'drop') {
      throw badOption('offlineDeliveries', 'offlineDeliveries must be "withhold" or "drop"')
    }
    this.offlineDeliveries = mode

    const clock = options.clock ?? { now: () => Date.now() }
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      throw badOption('clock', 'clock must be an object with a now() method, e.g. a TestClock')
    }
    this.clock = clock
    this.timers = pickTimers(options, clock)

    if (
      options.epoch !== undefined &&
      (typeof options.epoch !== 'string' || options.epoch === '')
    ) {
      throw badOption('epoch', 'epoch must be a non-empty string')
    }
    this.currentEpoch = options.epoch ?? this.drawEpoch()
  }

  // ---- public hub API ------------------------------------------------------------------------

  get epoch(): string {
    return this.currentEpoch
  }

  get store(): EventStore {
    return this.currentStore
  }

  get calls(): readonly LoopbackCall[] {
    return Object.freeze([...this.recorded])
  }

  get subscriptions(): number {
    return this.live.size
  }

  connect(clientId: string, options: LoopbackConnectOptions = {}): LoopbackTransport {
    checkClientId(clientId)
    if (this.isClosed) {
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
    this.connections.add(connection)
    return connection
  }

  client(clientId: string): LoopbackFaults {
    checkClientId(clientId)
    let faults = this.clientFaults.get(clientId)
    if (faults === undefined) {
      faults = new FaultState()
      this.clientFaults.set(clientId, faults)
    }
    return faults
  }

  failNext(n: number, options?: FailNextOptions): void {
    this.faults.failNext(n, options)
  }

  dropNextDeliveries(n: number): void {
    this.faults.dropNextDeliveries(n)
  }

  duplicateNextDeliveries(n: number): void {
    this.faults.duplicateNextDeliveries(n)
  }

  reorderDeliveries(enabled: boolean): void {
    this.faults.reorderDeliveries(enabled)
  }

  clearFaults(): void {
    this.faults.clearFaults()
    for (const faults of this.clientFaults.values()) faults.clearFaults()
  }

  setOffline(clientId: string, offline: boolean): void {
    checkClientId(clientId)
    if (typeof offline !== 'boolean') {
      throw badOption('offline', 'setOffline takes a boolean: true to cut the client off')
    }
    this.changeReachability(() => {
      if (offline) this.offline.add(clientId)
      else this.offline.delete(clientId)
    })
  }

  isOffline(clientId: string): boolean {
    return this.offline.has(clientId) || this.partitioned.has(clientId)
  }

  partition(groups: readonly (readonly string[])[]): void {
    if (!Array.isArray(groups) || groups.length === 0) {
      throw badOption('groups', 'partition takes a non-empty array of groups of client ids')
    }
    const seen = new Set<string>()
    const cut = new Set<string>()
    groups.forEach((group, index) => {
      if (!Array.isArray(group)) {
        throw badOption('groups', `partition group ${index} must be an array of client ids`)
      }
      for (const clientId of group as readonly unknown[]) {
        checkClientId(clientId)
        if (seen.has(clientId)) {
          throw badOption('groups', `client "${clientId}" is in two partition groups`)
        }
        seen.add(clientId)
        if (index > 0) cut.add(clientId)
      }
    })
    this.changeReachability(() => {
      this.partitioned.clear()
      for (const clientId of cut) this.partitioned.add(clientId)
    })
  }

  heal(): void {
    this.changeReachability(() => this.partitioned.clear())
  }

  clearCalls(): void {
    this.recorded = []
  }

  async reset(): Promise<void> {
    if (this.isClosed) {
      throw new SyncKitError(
        'transport-closed',
        '[sync-kit] [loopback] cannot reset a closed hub',
        {},
      )
    }
    if (this.createStore === undefined) {
      throw badOption(
        'store',
        'reset() needs to create a fresh store, but the hub was given a store instance; ' +
          'pass a factory instead, e.g. store: () => createMemoryStore()',
      )
    }
    await this.exclusive(async () => {
      const old = this.currentStore
      this.currentStore = this.openStore()
      this.generation++
      this.currentEpoch = this.drawEpoch()
      const error = new SyncKitError(
        'unavailable',
        `[sync-kit] [loopback] the hub was reset (new epoch "${this.currentEpoch}"); ` +
          'subscribe again and discard checkpoints taken against the old epoch',
        {},
      )
      for (const subscription of [...this.live.keys()]) subscription.end(error)
      await old.close()
    })
  }

  async settle(): Promise<void> {
    for (;;) {
      if (this.pending.size === 0) {
        // Let continuations of just-finished work start follow-up work before deciding.
        for (let i = 0; i < 10; i++) await Promise.resolve()
        if (this.pending.size === 0) return
      }
      await Promise.allSettled([...this.pending])
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    for (const connection of [...this.connections]) await connection.close()
    if (this.createStore !== undefined) await this.currentStore.close()
  }

  // ---- connection host -----------------------------------------------------------------------

  push(
    connection: LoopbackConnection,
    events: readonly Event[],
    options?: PushOptions,
  ): Promise<PushResult> {
    const count = Array.isArray(events) ? events.length : 0
    return this.call(connection, 'push', options, count, () => {
      if (!Array.isArray(events)) {
        throw badOption('events', 'push takes an array of events')
      }
      // Validate and copy now, as a client serialising its request would: later changes by the
      // caller cannot reach the hub, and an invalid event fails the push before anything is sent.
      const batch = events.map((event: unknown) => validateEvent(event, 'loopback'))
      const ifEpoch = options?.ifEpoch
      if (ifEpoch !== undefined && typeof ifEpoch !== 'string') {
        throw badOption('ifEpoch', 'push ifEpoch must be a string')
      }
      return () =>
        this.exclusive(() => {
          // Checked when the push reaches the hub's log, as a server would.
          if (ifEpoch !== undefined && ifEpoch !== this.currentEpoch) {
            throw new SyncKitError(
              'epoch-mismatch',
              `[sync-kit] [loopback] push expected epoch "${ifEpoch}" but the hub's log is now "${this.currentEpoch}" (it was reset); re-send from the beginning`,
              { expected: ifEpoch, actual: this.currentEpoch },
            )
          }
          return this.storePush(batch, options?.signal)
        })
    })
  }

  pull(
    connection: LoopbackConnection,
    since: Version | null,
    options: PullOptions = {},
  ): Promise<PullResult> {
    return this.call(connection, 'pull', options, 0, () => {
      const limit = options.limit ?? this.pageLimit
      validateLimit(limit, 'loopback')
      const filters = copyFilters(options.filters)
      compileFilters(filters, 'loopback')
      const from = this.parseSince(since)
      return async () => {
        const store = this.currentStore
        const epoch = this.currentEpoch
        // One more than asked tells whether another page follows, without a second query.
        const probe = limit < Number.MAX_SAFE_INTEGER ? limit + 1 : limit
        const page = await store.load(from, {
          limit: probe,
          ...(filters === undefined ? {} : { filters }),
          ...signalOf(options),
        })
        const events = page.slice(0, limit).map((item) => this.copy(item))
        return { value: { events, hasMore: page.length > limit, epoch }, events: events.length }
      }
    })
  }

  latestVersion(connection: LoopbackConnection, options?: SignalOptions): Promise<Version> {
    return this.call(connection, 'latestVersion', options, 0, () => async () => {
      const version = await this.currentStore.latestVersion(signalOf(options))
      return { value: this.copyVersion(version), events: 0 }
    })
  }

  subscribe(
    connection: LoopbackConnection,
    handler: EventHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    return this.call(connection, 'subscribe', options, 0, () => {
      if (typeof handler !== 'function') {
        throw badOption('handler', 'subscribe takes a handler function that receives batches')
      }
      const onError = options.onError
      if (onError !== undefined && typeof onError !== 'function') {
        throw badOption('onError', 'onError must be a function')
      }
      const filters = copyFilters(options.filters) ?? []
      const matches = compileFilters(filters, 'loopback')
      const since = options.since === undefined ? null : this.parseSince(options.since)
      return () => {
        const subscription = new LiveSubscription({
          host: this,
          clientId: connection.clientId,
          handler,
          filters,
          matches,
          since,
          onError,
          signal: options.signal,
        })
        // Registered before the replay reads the store, so no live batch can slip between.
        this.live.set(subscription, connection)
        connection.attach(subscription)
        subscription.start()
        const handle: Subscription = { unsubscribe: () => subscription.unsubscribe() }
        return Promise.resolve({ value: handle, events: 0 })
      }
    })
  }

  parseVersion(value: string): Version {
    return this.currentStore.parseVersion(value)
  }

  disconnect(connection: LoopbackConnection): void {
    this.connections.delete(connection)
  }

  // ---- subscription host ---------------------------------------------------------------------

  reorders(clientId: string): boolean {
    return this.faults.reorder || this.clientFaults.get(clientId)?.reorder === true
  }

  random(): number {
    const r = this.randomSource()
    return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0
  }

  copy(item: EventWithVersion): EventWithVersion {
    return {
      event: JSON.parse(JSON.stringify(item.event)) as Event,
      version: this.copyVersion(item.version),
    }
  }

  track(promise: Promise<unknown>): void {
    this.pending.add(promise)
    const done = (): void => {
      this.pending.delete(promise)
    }
    promise.then(done, done)
  }

  detach(subscription: LiveSubscription): void {
    this.live.get(subscription)?.release(subscription)
    this.live.delete(subscription)
  }

  // ---- internals -----------------------------------------------------------------------------

  /**
   * Runs one call: closed and abort checks, `prepare` (synchronous argument checks and copies),
   * latency, offline and injected failures, then the work; records the outcome.
   */
  private call<T>(
    connection: LoopbackConnection,
    op: LoopbackOp,
    options: SignalOptions | undefined,
    count: number,
    prepare: () => () => Promise<Outcome<T>>,
  ): Promise<T> {
    const promise = this.runCall(connection, op, options?.signal, count, prepare)
    this.track(promise)
    return promise
  }

  private async runCall<T>(
    connection: LoopbackConnection,
    op: LoopbackOp,
    signal: AbortSignal | undefined,
    count: number,
    prepare: () => () => Promise<Outcome<T>>,
  ): Promise<T> {
    let events = count
    const generation = this.generation
    try {
      this.checkOpen(connection, op)
      throwIfAborted(signal, `[loopback] ${op}`)
      const work = prepare()
      const ms = this.latencyOf(connection, op)
      if (ms > 0) {
        try {
          await delay(ms, signal, this.timers.setTimeout, this.timers.clearTimeout)
        } catch (error) {
          throw isSyncKitError(error, 'aborted') ? aborted(op, signal) : error
        }
        this.checkOpen(connection, op)
      }
      if (this.isOffline(connection.clientId)) {
        throw new SyncKitError(
          'unavailable',
          `[sync-kit] [loopback] ${op} failed: client "${connection.clientId}" is offline ` +
            '(setOffline or partition); retry once it is back online',
          {},
        )
      }
      const failure = this.takeFailure(connection.clientId, op)
      if (failure !== undefined && !failure.afterStore) throw injected(failure, op, ms)
      const outcome = await work()
      events = outcome.events
      if (failure !== undefined) throw injected(failure, op, ms)
      this.record(connection.clientId, op, events, undefined)
      return outcome.value
    } catch (error) {
      const reported = this.clientError(error, op, generation)
      this.record(connection.clientId, op, events, reported.code)
      throw reported
    }
  }

  /**
   * The error a client sees. When `reset()` or `close()` closes the hub's own store under a call
   * in flight, the store rejects with `closed`; to a client that is the server going away:
   * `unavailable` after a reset (retry: the new log answers), `transport-closed` after `close()`.
   */
  private clientError(error: unknown, op: LoopbackOp, generation: number): SyncKitError {
    if (isSyncKitError(error, 'closed') && this.createStore !== undefined) {
      if (this.isClosed) {
        return new SyncKitError(
          'transport-closed',
          `[sync-kit] [loopback] ${op} failed: the hub was closed during the call`,
          {},
          { cause: error },
        )
      }
      if (this.generation !== generation) {
        return new SyncKitError(
          'unavailable',
          `[sync-kit] [loopback] ${op} failed: the hub was reset during the call (new epoch ` +
            `"${this.currentEpoch}"); retry, and discard checkpoints of the old epoch`,
          {},
          { cause: error },
        )
      }
    }
    return asSyncKitError(error, op)
  }

  /** Stores a validated push and fans the new events out; runs under the write lock. */
  private async storePush(
    batch: readonly Event[],
    signal: AbortSignal | undefined,
  ): Promise<Outcome<PushResult>> {
    const store = this.currentStore
    const epoch = this.currentEpoch
    let results: StoreResult[]
    if (store.storeBatch !== undefined) {
      results = await store.storeBatch(batch, signalOf({ signal }))
    } else {
      // Without storeBatch a later conflict cannot undo earlier events: not atomic.
      results = []
      for (const event of batch) results.push(await store.store(event, signalOf({ signal })))
    }
    let stored = 0
    const fresh: EventWithVersion[] = []
    results.forEach((result, index) => {
      const event = batch[index]
      if (result.duplicate || event === undefined) return
      stored++
      fresh.push({ event, version: result.version })
    })
    if (store === this.currentStore) this.fanOut(fresh)
    return { value: { stored, duplicates: batch.length - stored, epoch }, events: batch.length }
  }

  /** Hands newly stored events to every live subscription, applying delivery faults. */
  private fanOut(fresh: readonly EventWithVersion[]): void {
    if (fresh.length === 0) return
    for (const subscription of [...this.live.keys()]) {
      const batch = subscription.select(fresh)
      if (batch.length === 0) continue
      const { clientId } = subscription
      if (this.offlineDeliveries === 'drop' && this.isOffline(clientId)) continue
      const faults = this.clientFaults.get(clientId)
      if (faults?.takeDrop() === true || this.faults.takeDrop()) continue
      const twice = faults?.takeDuplicate() === true || this.faults.takeDuplicate()
      subscription.enqueue(batch)
      if (twice) subscription.enqueue(batch)
    }
  }

  private takeFailure(clientId: string, op: LoopbackOp): InjectedFailure | undefined {
    return this.clientFaults.get(clientId)?.takeFailure(op) ?? this.faults.takeFailure(op)
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeQueue.then(fn, fn)
    this.writeQueue = run.catch(() => undefined)
    return run
  }

  private changeReachability(change: () => void): void {
    const before = new Map<string, boolean>()
    for (const subscription of this.live.keys()) {
      before.set(subscription.clientId, this.isOffline(subscription.clientId))
    }
    change()
    for (const subscription of [...this.live.keys()]) {
      const was = before.get(subscription.clientId) === true
      const now = this.isOffline(subscription.clientId)
      if (!was && now) {
        subscription.connectionLost(
          new SyncKitError(
            'unavailable',
            `[sync-kit] [loopback] client "${subscription.clientId}" went offline; live ` +
              `deliveries are ${this.offlineDeliveries === 'drop' ? 'dropped' : 'withheld'} ` +
              'until it is back online',
            {},
          ),
        )
      } else if (was && !now) {
        subscription.resume()
      }
    }
  }

  private checkOpen(connection: LoopbackConnection, op: LoopbackOp): void {
    if (connection.closed) {
      throw new SyncKitError(
        'transport-closed',
        `[sync-kit] [loopback] ${op} on a closed transport (client "${connection.clientId}"); ` +
          'connect again with hub.connect()',
        {},
      )
    }
  }

  private latencyOf(connection: LoopbackConnection, op: LoopbackOp): number {
    const latency = connection.latencyMs ?? this.latency
    if (typeof latency === 'number') return latency
    const ms = latency({ clientId: connection.clientId, op })
    checkLatency(ms, 'the latencyMs function result')
    return ms
  }

  private parseSince(since: Version | null | undefined): Version | null {
    // As if the version travelled as a string: only this hub's own version format is accepted.
    return since === null || since === undefined
      ? null
      : this.currentStore.parseVersion(String(since))
  }

  private copyVersion(version: Version): Version {
    return this.currentStore.parseVersion(version.toString())
  }

  private record(
    clientId: string,
    op: LoopbackOp,
    events: number,
    error: SyncKitErrorCode | undefined,
  ): void {
    const at = this.clock.now()
    this.recorded.push(
      error === undefined
        ? { clientId, op, events, ok: true, at }
        : { clientId, op, events, ok: false, error, at },
    )
  }

  private openStore(): EventStore {
    const create = this.createStore
    const store = create === undefined ? undefined : create()
    if (!isStore(store)) {
      throw badOption('store', 'the store factory must return an EventStore')
    }
    return store
  }

  private drawEpoch(): string {
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz'
    let id = ''
    for (let i = 0; i < 16; i++) id += alphabet[Math.floor(this.random() * alphabet.length)] ?? '0'
    // The generation makes every reset's epoch differ even with a constant random source.
    return `loopback-${id}-${this.generation}`
  }
}

function pickTimers(
  options: LoopbackHubOptions,
  clock: Clock & Partial<LoopbackTimers>,
): LoopbackTimers {
  const { setTimeout: set, clearTimeout: clear } = options
  if (set !== undefined || clear !== undefined) {
    if (typeof set !== 'function' || typeof clear !== 'function') {
      throw badOption('setTimeout', 'give setTimeout and clearTimeout together, both functions')
    }
    return { setTimeout: set, clearTimeout: clear }
  }
  const clockSet = clock.setTimeout
  const clockClear = clock.clearTimeout
  if (typeof clockSet === 'function' && typeof clockClear === 'function') {
    return {
      setTimeout: (fn, ms) => clockSet.call(clock, fn, ms),
      clearTimeout: (handle) => {
        clockClear.call(clock, handle)
      },
    }
  }
  return {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => {
      clearTimeout(handle as ReturnType<typeof setTimeout>)
    },
  }
}

function isStore(value: unknown): value is EventStore {
  if (typeof value !== 'object' || value === null) return false
  const s = value as Record<string, unknown>
  return ['store', 'load', 'latestVersion', 'parseVersion', 'close'].every(
    (method) => typeof s[method] === 'function',
  )
}

function checkClientId(clientId: unknown): asserts clientId is string {
  if (typeof clientId !== 'string' || clientId === '' || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw badOption(
      'clientId',
      `client id must be a string of 1-${MAX_CLIENT_ID_LENGTH} characters, got ${JSON.stringify(String(clientId)).slice(0, 80)}`,
    )
  }
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

function badOption(argument: string, message: string): SyncKitError<'invalid-argument'> {
  return new SyncKitError('invalid-argument', `[sync-kit] [loopback] ${message}`, { argument })
}
