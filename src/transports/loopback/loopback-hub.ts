import { compileFilters, validateLimit } from '../../core/filters.js'
import { resolveTimers } from '../../core/timers.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import { WorkTracker, createSyncServer } from '../../server/index.js'
import type { SyncServer } from '../../server/index.js'
import type {
  Event,
  EventHandler,
  EventStore,
  EventWithVersion,
  PullOptions,
  PullResult,
  PushOptions,
  PushResult,
  SignalOptions,
  SubscribeOptions,
  Subscription,
  Version,
} from '../../types/index.js'
import { badArgument as badOption } from './faults.js'
import type { FailNextOptions, LoopbackFaults, LoopbackOp } from './faults.js'
import { DEFAULT_LOOPBACK_PAGE_LIMIT } from './loopback-hub-api.js'
import type { LoopbackCall, LoopbackHub, LoopbackHubOptions } from './loopback-hub-api.js'
import { asSyncKitError, checkLatency, copyFilters, isStore, signalOf } from './loopback-checks.js'
import { LiveDelivery, Network, checkClientId } from './network-simulation.js'
import type { NetworkHost } from './network-simulation.js'
import { LoopbackConnection } from './loopback-transport.js'
import { SimulatedCalls } from './simulated-calls.js'
import type { CallsHost } from './simulated-calls.js'
import type {
  ConnectionHost,
  LoopbackConnectOptions,
  LoopbackTransport,
} from './loopback-transport.js'

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

class Hub implements LoopbackHub, ConnectionHost, NetworkHost, CallsHost {
  readonly #pageLimit: number
  /** The server core holding the current log; replaced by `reset()`. */
  #server: SyncServer
  /** The store option: an instance the caller owns, a factory, or `undefined` for the core's default. */
  readonly #storeOption: EventStore | (() => EventStore) | undefined
  readonly #ownsStore: boolean
  #currentEpoch: string
  #generation = 0
  readonly #calls: SimulatedCalls
  readonly #randomSource: () => number
  readonly #network: Network
  readonly #connections = new Set<LoopbackConnection>()
  readonly #work = new WorkTracker()
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
    const timers = resolveTimers(options.timers, clock, 'loopback')
    this.#calls = new SimulatedCalls(this, this.#network, latency, clock, timers)

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
    return this.#calls.recorded
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
    this.#calls.clear()
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
    return this.#calls.run(connection, 'push', options, count, () => {
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
    return this.#calls.run(connection, 'pull', options, 0, () => {
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
    return this.#calls.run(connection, 'latestVersion', options, 0, () => async () => {
      const head = await this.#server.latestVersion(signalOf(options))
      return { value: this.#copyVersion(head.latestVersion), events: 0 }
    })
  }

  subscribe(
    connection: LoopbackConnection,
    handler: EventHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    return this.#calls.run(connection, 'subscribe', options, 0, () => {
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

  get generation(): number {
    return this.#generation
  }

  // ---- internals -----------------------------------------------------------------------------

  /**
   * The error a client sees. When `reset()` or `close()` closes the hub's own store under a call
   * in flight, the store rejects with `closed`; to a client that is the server going away:
   * `unavailable` after a reset (retry: the new log answers), `transport-closed` after `close()`.
   */
  clientError(error: unknown, op: LoopbackOp, generation: number): SyncKitError {
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

  #parseSince(since: Version | null | undefined): Version | null {
    // As if the version travelled as a string: only this hub's own version format is accepted.
    return since === null || since === undefined ? null : this.#server.parseVersion(String(since))
  }

  #copyVersion(version: Version): Version {
    return this.#server.parseVersion(version.toString())
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
