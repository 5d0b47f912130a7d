import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import type { Clock, EventStore, Timers } from '../../types/index.js'
import type { LoopbackFaults, LoopbackOp } from './faults.js'
import type {
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
