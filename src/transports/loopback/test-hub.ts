import { TIMER_RENAMES, refuseRenamedOptions } from '../../core/options.js'
import { resolveTimers } from '../../core/timers.js'
import type { FailNextOptions, LoopbackFaults } from './faults.js'
import { Hub } from './loopback-hub.js'
import { badArgument, checkClientId } from './loopback-checks.js'
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import type { EventHandler } from '../../types/index.js'
import type { AfterStore, DeliveryHooks, InFlight } from './hub-hooks.js'
import { LiveDelivery } from './live-delivery.js'
import type { LoopbackConnection, LoopbackOp } from './loopback-transport.js'
import { Network } from './network-simulation.js'
import type { NetworkHost } from './network-simulation.js'
import { SimulatedCalls, checkLatency } from './simulated-calls.js'
import type {
  LoopbackCall,
  LoopbackConnectOptions,
  TestHub,
  TestHubOptions,
} from './test-hub-api.js'

/**
 * Creates a loopback hub with a simulated network for tests: the hub of `createLoopbackHub` (same
 * server core, same calls, same `settle()` and `reset()`) with latency on an injectable timer
 * (deterministic with `TestClock`), a record of calls, injected failures (`failNext`, optionally
 * after storing, to model a lost acknowledgement), offline clients and partitions, and dropped /
 * duplicated / reordered live deliveries. Random choices use the `random` option.
 *
 * The simulation plugs into the plain hub's hook points (before each call, after it stored, when
 * it finished, around each live delivery), so an app that imports only `createLoopbackHub` does
 * not ship it.
 *
 * @param options - the hub's options and the simulation's: latency, clock, timers,
 * `offlineDeliveries`; see {@link TestHubOptions}.
 * @returns the hub with its fault controls.
 * @throws SyncKitError `invalid-argument` for malformed options.
 * @example
 * ```ts
 * import { TestClock, createTestHub } from 'sync-kit/testing'
 *
 * const clock = new TestClock()
 * const hub = createTestHub({ clock, latencyMs: 20, random: () => 0.5 })
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
export function createTestHub(options: TestHubOptions = {}): TestHub {
  return new TestLoopbackHub(options)
}

class TestLoopbackHub extends Hub implements TestHub, DeliveryHooks {
  readonly #network: Network
  readonly #calls: SimulatedCalls

  constructor(options: TestHubOptions) {
    refuseRenamedOptions(options, TIMER_RENAMES, 'loopback')
    super(options)
    const latency = options.latencyMs ?? 0
    if (typeof latency !== 'function') checkLatency(latency, 'latencyMs')
    const mode = options.offlineDeliveries ?? 'withhold'
    if (mode !== 'withhold' && mode !== 'drop') {
      throw badArgument('offlineDeliveries', 'offlineDeliveries must be "withhold" or "drop"')
    }
    const clock = options.clock ?? { now: () => Date.now() }
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      throw badArgument('clock', 'clock must be an object with a now() method, e.g. a TestClock')
    }
    const timers = resolveTimers(options.timers, clock, 'loopback')
    // Every delivery of a test hub is a LiveDelivery (see deliver).
    this.#network = new Network(this as unknown as NetworkHost, mode)
    this.#calls = new SimulatedCalls(this.#network, latency, clock, timers)
  }

  // ---- the hub's hook points, filled by the simulated network --------------------------------

  override before(
    connection: LoopbackConnection,
    op: LoopbackOp,
    signal: AbortSignal | undefined,
  ): AfterStore | Promise<AfterStore> {
    return this.#calls.before(connection, op, signal)
  }

  override done(clientId: string, op: LoopbackOp, events: number, error?: SyncKitErrorCode): void {
    this.#calls.done(clientId, op, events, error)
  }

  override deliver(
    connection: LoopbackConnection,
    handler: EventHandler,
    onError: ((error: unknown) => void) | undefined,
    signal: AbortSignal | undefined,
  ): LiveDelivery {
    return new LiveDelivery(this, connection, handler, onError, signal)
  }

  copies(clientId: string): number {
    return this.#network.copies(clientId)
  }

  pick(clientId: string, queue: readonly InFlight[]): number {
    return this.#network.pick(clientId, queue)
  }

  // ---- the test hub's API --------------------------------------------------------------------

  get calls(): readonly LoopbackCall[] {
    return this.#calls.recorded
  }

  override connect(clientId: string, options: LoopbackConnectOptions = {}): LoopbackConnection {
    checkClientId(clientId)
    const latency = options.latencyMs
    if (latency !== undefined && typeof latency !== 'function') checkLatency(latency, 'latencyMs')
    const connection = super.connect(clientId)
    if (latency !== undefined) this.#calls.setLatency(connection, latency)
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
      throw badArgument('offline', 'setOffline takes a boolean: true to cut the client off')
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
}
