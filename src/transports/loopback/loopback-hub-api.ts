import type { EventStore } from '../../types/index.js'
import type { LoopbackTransport } from './loopback-transport.js'

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
 * Options for {@link createLoopbackHub}. The test hub (`createTestHub` from `sync-kit/testing`)
 * takes these and its own: latency, a clock for call records, timers, `offlineDeliveries`.
 *
 * @example
 * ```ts
 * import { createLoopbackHub, createMemoryStore } from 'sync-kit'
 *
 * const hub = createLoopbackHub({
 *   store: () => createMemoryStore(),
 *   random: () => 0.42,
 *   pageLimit: 100,
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
   * Random source in [0, 1) for every random choice of the hub (epochs; on a test hub also
   * reordering); pass a seeded one for repeatable runs.
   * @defaultValue `Math.random`
   */
  readonly random?: () => number
  /**
   * Page size of a pull without `limit` and of a subscription's replay.
   * @defaultValue {@link DEFAULT_LOOPBACK_PAGE_LIMIT} (500)
   */
  readonly pageLimit?: number
}

/**
 * An in-process sync server that any number of clients connect to. See
 * {@link createLoopbackHub}; for fault injection (failed calls, lost acknowledgements, offline
 * clients, partitions, delivery faults), latency and a record of calls use `createTestHub` from
 * `sync-kit/testing`, a `LoopbackHub` with those controls.
 *
 * @example
 * ```ts
 * import { createLoopbackHub } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * const [a, b] = [hub.connect('a'), hub.connect('b')]
 * await b.subscribe((batch) => console.log('b got', batch.length))
 * await a.push([{ id: 'e1', type: 'Created', aggregateId: 'x', data: {} }])
 * await hub.settle() // logs 'b got 1'
 * ```
 */
export interface LoopbackHub {
  /** The current epoch: the id of the current log; `reset()` changes it. */
  readonly epoch: string
  /** The current store holding the log (replaced by `reset()`); for inspection in tests. */
  readonly store: EventStore
  /** How many live subscriptions are active. */
  readonly subscriptions: number
  /**
   * Connects a client. A client id may connect several times (e.g. after a reconnect); on a test
   * hub faults and offline state belong to the id and apply to all its connections.
   * @param clientId - 1–256 characters, naming the client.
   * @returns the client's transport.
   * @throws SyncKitError `invalid-argument` for a bad id, `transport-closed` after `hub.close()`.
   */
  connect(clientId: string): LoopbackTransport
  /**
   * Simulates a replaced server: a fresh, empty store and a new epoch. Live subscriptions end
   * with `onError(unavailable)`; connections stay open and see the new epoch on their next call.
   * On a test hub, recorded calls, faults and offline states are kept.
   * @throws SyncKitError `invalid-argument` when the hub was given a store instance (pass a
   * factory, `store: () => createMyStore()`), `transport-closed` after `hub.close()`.
   */
  reset(): Promise<void>
  /**
   * Resolves once every call in flight and every pending live delivery has completed, including
   * those started meanwhile. Deliveries a test hub withholds for offline clients are not waited
   * for.
   *
   * It advances no timer: with a test hub's latency on a `TestClock`, start it, then advance the
   * clock: `const settled = hub.settle(); await clock.advance(latencyMs); await settled` (or
   * `await clock.runAll(); await hub.settle()`). A handler that never returns never settles.
   */
  settle(): Promise<void>
  /** Closes every connection (their calls reject `transport-closed`) and, if owned, the store. */
  close(): Promise<void>
}
