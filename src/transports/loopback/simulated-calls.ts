import { delay, throwIfAborted } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import type { Clock, SignalOptions, Timers } from '../../types/index.js'
import type { LoopbackOp } from './faults.js'
import type { LoopbackCall } from './loopback-hub-api.js'
import { aborted, checkLatency, injected } from './loopback-checks.js'
import type { LoopbackConnection, LoopbackLatency } from './loopback-transport.js'
import type { Network } from './network-simulation.js'

/** The result of a call's work: its value and the event count for the call record. */
export interface Outcome<T> {
  readonly value: T
  readonly events: number
}

/** What the calls need from their hub. */
export interface CallsHost {
  /** Increases with every `reset()`: a call that began under another one was cut by a reset. */
  readonly generation: number
  /** Lets `hub.settle()` wait for the call. */
  track(promise: Promise<unknown>): void
  /**
   * The error a client sees for what the call threw.
   * @param error - what was thrown.
   * @param op - the call.
   * @param generation - the hub's generation when the call began.
   */
  clientError(error: unknown, op: LoopbackOp, generation: number): SyncKitError
}

/**
 * Every call a client makes, as the simulated network carries it: closed and abort checks, the
 * call's own argument checks, latency, offline clients and injected failures, then the work on
 * the server core; and the record of each call.
 */
export class SimulatedCalls {
  readonly #host: CallsHost
  readonly #network: Network
  readonly #latency: LoopbackLatency
  readonly #clock: Clock
  readonly #timers: Timers
  #recorded: LoopbackCall[] = []

  /**
   * @param host - the hub.
   * @param network - reachability and injected failures.
   * @param latency - the hub's latency (a connection may override it).
   * @param clock - time of the call records.
   * @param timers - times the latency.
   */
  constructor(
    host: CallsHost,
    network: Network,
    latency: LoopbackLatency,
    clock: Clock,
    timers: Timers,
  ) {
    this.#host = host
    this.#network = network
    this.#latency = latency
    this.#clock = clock
    this.#timers = timers
  }

  /** A snapshot of the calls recorded so far, oldest first. */
  get recorded(): readonly LoopbackCall[] {
    return Object.freeze([...this.#recorded])
  }

  /** Forgets the recorded calls. */
  clear(): void {
    this.#recorded = []
  }

  /**
   * Runs one call and records its outcome.
   * @param connection - the caller's connection.
   * @param op - the call.
   * @param options - its signal.
   * @param count - events sent, for the record of a call that fails before its work.
   * @param prepare - synchronous argument checks and copies; returns the work.
   * @returns what the work returns.
   */
  run<T>(
    connection: LoopbackConnection,
    op: LoopbackOp,
    options: SignalOptions | undefined,
    count: number,
    prepare: () => () => Promise<Outcome<T>>,
  ): Promise<T> {
    const promise = this.#run(connection, op, options?.signal, count, prepare)
    this.#host.track(promise)
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
    const generation = this.#host.generation
    try {
      checkOpen(connection, op)
      throwIfAborted(signal, `[loopback] ${op}`)
      const work = prepare()
      const ms = this.#latencyOf(connection, op)
      if (ms > 0) {
        try {
          await delay(ms, signal, this.#timers.setTimeout, this.#timers.clearTimeout)
        } catch (error) {
          throw isSyncKitError(error, 'aborted') ? aborted(op, signal) : error
        }
        checkOpen(connection, op)
      }
      if (this.#network.isOffline(connection.clientId)) {
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
      const reported = this.#host.clientError(error, op, generation)
      this.#record(connection.clientId, op, events, reported.code)
      throw reported
    }
  }

  #latencyOf(connection: LoopbackConnection, op: LoopbackOp): number {
    const latency = connection.latencyMs ?? this.#latency
    if (typeof latency === 'number') return latency
    const ms = latency({ clientId: connection.clientId, op })
    checkLatency(ms, 'the latencyMs function result')
    return ms
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
}

function checkOpen(connection: LoopbackConnection, op: LoopbackOp): void {
  if (connection.closed) {
    throw new SyncKitError(
      'transport-closed',
      `[sync-kit] [loopback] ${op} on a closed transport (client "${connection.clientId}"); ` +
        'connect again with hub.connect()',
      {},
    )
  }
}
