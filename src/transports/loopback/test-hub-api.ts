import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import type { Clock, Timers } from '../../types/index.js'
import type { LoopbackFaults } from './faults.js'
import type { LoopbackHub, LoopbackHubOptions } from './loopback-hub-api.js'
import type { LoopbackOp, LoopbackTransport } from './loopback-transport.js'

/**
 * What a call is, as the latency function sees it.
 *
 * @example
 * ```ts
 * import type { LoopbackCallInfo } from 'sync-kit/testing'
 *
 * const latency = ({ clientId, op }: LoopbackCallInfo): number => (clientId === 'slow' ? 200 : 5)
 * ```
 */
export interface LoopbackCallInfo {
  /** The calling client. */
  readonly clientId: string
  /** The kind of call. */
  readonly op: LoopbackOp
}

/**
 * Simulated network latency per call, in ms: a fixed number, or a function of the call (for
 * jitter, draw from a seeded random source so runs repeat).
 *
 * @example
 * ```ts
 * import type { LoopbackLatency } from 'sync-kit/testing'
 *
 * let seed = 1
 * const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647
 * const jitter: LoopbackLatency = () => 10 + Math.floor(random() * 20) // 10–29 ms
 * ```
 */
export type LoopbackLatency = number | ((call: LoopbackCallInfo) => number)

/**
 * Options for `testHub.connect`.
 *
 * @example
 * ```ts
 * import { createTestHub } from 'sync-kit/testing'
 *
 * const phone = createTestHub({ latencyMs: 5 }).connect('phone', { latencyMs: 300 })
 * ```
 */
export interface LoopbackConnectOptions {
  /**
   * Latency of this connection's calls, replacing the hub's `latencyMs`.
   * @defaultValue the hub's `latencyMs`
   */
  readonly latencyMs?: LoopbackLatency
}

/**
 * Options for {@link createTestHub}: those of `createLoopbackHub` and the simulated network's.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from 'sync-kit'
 * import { TestClock, createTestHub } from 'sync-kit/testing'
 *
 * const clock = new TestClock()
 * const hub = createTestHub({
 *   store: () => createMemoryStore(),
 *   clock, // its setTimeout/clearTimeout time the latency (or give them as timers)
 *   latencyMs: ({ op }) => (op === 'pull' ? 30 : 10),
 *   random: () => 0.42,
 *   offlineDeliveries: 'drop',
 * })
 * ```
 */
export interface TestHubOptions extends LoopbackHubOptions {
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
   * What happens to live deliveries for a client while it is offline or partitioned away:
   * `'withhold'` keeps them and delivers them when it is back; `'drop'` loses them (the client
   * must catch up by pulling, as after a lost connection).
   * @defaultValue `'withhold'`
   */
  readonly offlineDeliveries?: 'withhold' | 'drop'
}

/**
 * One call a client made to a test hub, as recorded in `hub.calls`.
 *
 * @example
 * ```ts
 * import { createTestHub, type LoopbackCall } from 'sync-kit/testing'
 *
 * const hub = createTestHub()
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
 * A loopback hub with a simulated network for tests: latency, a record of calls, injected
 * failures, offline clients, partitions, dropped / duplicated / reordered live deliveries. See
 * {@link createTestHub}.
 *
 * The hub-wide fault methods it inherits from {@link LoopbackFaults} apply to every client;
 * `hub.client(id)` gives the same methods for one client. `hub.clearFaults()` clears both.
 *
 * @example
 * ```ts
 * import { createTestHub } from 'sync-kit/testing'
 *
 * const hub = createTestHub()
 * const [a, b] = [hub.connect('a'), hub.connect('b')]
 * await b.subscribe((batch) => console.log('b got', batch.length))
 * hub.partition([['a'], ['b']]) // b is cut off: its deliveries wait
 * await a.push([{ id: 'e1', type: 'Created', aggregateId: 'x', data: {} }])
 * hub.heal()
 * await hub.settle() // logs 'b got 1'
 * console.log(hub.calls.map((call) => `${call.clientId} ${call.op} ${call.ok}`))
 * ```
 */
export interface TestHub extends LoopbackHub, LoopbackFaults {
  /** A snapshot of every call made so far, oldest first (see `clearCalls`). */
  readonly calls: readonly LoopbackCall[]
  /**
   * Connects a client. A client id may connect several times (e.g. after a reconnect); faults and
   * offline state belong to the id and apply to all its connections.
   * @param clientId - 1–256 characters, naming the client in faults and call records.
   * @param options - per-connection latency.
   * @returns the client's transport.
   * @throws SyncKitError `invalid-argument` for a bad id or latency, `transport-closed` after
   * `hub.close()`.
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
}
