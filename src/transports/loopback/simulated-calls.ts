import { delay } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import type { Clock, Timers } from '../../types/index.js'
import type { InjectedFailure } from './faults.js'
import type { AfterStore, CallHooks } from './hub-hooks.js'
import { badArgument, checkOpen } from './loopback-checks.js'
import type { LoopbackConnection, LoopbackOp } from './loopback-transport.js'
import type { Network } from './network-simulation.js'
import type { LoopbackCall, LoopbackLatency } from './test-hub-api.js'

/**
 * Checks a latency in ms (≥ 0, finite).
 * @param ms - the value given.
 * @param what - names it in the message.
 * @throws SyncKitError `invalid-argument` otherwise.
 */
export function checkLatency(ms: unknown, what: string): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw badArgument(
      'latencyMs',
      `${what} must be a finite number of ms ≥ 0 (or a function returning one), got ${String(ms)}`,
    )
  }
}

/**
 * A test hub's calls, as the simulated network carries them (the hub's call hooks): latency,
 * offline clients and injected failures before the work on the server core, a lost
 * acknowledgement after it, and the record of each call.
 */
export class SimulatedCalls implements CallHooks {
  readonly #network: Network
  readonly #latency: LoopbackLatency
  readonly #clock: Clock
  readonly #timers: Timers
  /** Latency of the connections that override the hub's. */
  readonly #connectionLatency = new WeakMap<LoopbackConnection, LoopbackLatency>()
  #recorded: LoopbackCall[] = []

  /**
   * @param network - reachability and injected failures.
   * @param latency - the hub's latency (a connection may override it).
   * @param clock - time of the call records.
   * @param timers - times the latency.
   */
  constructor(network: Network, latency: LoopbackLatency, clock: Clock, timers: Timers) {
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
   * Gives one connection its own latency.
   * @param connection - the connection.
   * @param latency - replaces the hub's for its calls.
   */
  setLatency(connection: LoopbackConnection, latency: LoopbackLatency): void {
    this.#connectionLatency.set(connection, latency)
  }

  before(
    connection: LoopbackConnection,
    op: LoopbackOp,
    signal: AbortSignal | undefined,
  ): AfterStore | Promise<AfterStore> {
    const ms = this.#latencyOf(connection, op)
    return ms > 0 ? this.#delayed(connection, op, signal, ms) : this.#arrive(connection, op, 0)
  }

  done(clientId: string, op: LoopbackOp, events: number, error?: SyncKitErrorCode): void {
    const at = this.#clock.now()
    this.#recorded.push(
      error === undefined
        ? { clientId, op, events, ok: true, at }
        : { clientId, op, events, ok: false, error, at },
    )
  }

  async #delayed(
    connection: LoopbackConnection,
    op: LoopbackOp,
    signal: AbortSignal | undefined,
    ms: number,
  ): Promise<AfterStore> {
    try {
      await delay(ms, signal, this.#timers.setTimeout, this.#timers.clearTimeout)
    } catch (error) {
      throw isSyncKitError(error, 'aborted') ? aborted(op, signal) : error
    }
    checkOpen(connection, op)
    return this.#arrive(connection, op, ms)
  }

  /** The call reaches the hub: refused while the client is offline, or by an injected failure. */
  #arrive(connection: LoopbackConnection, op: LoopbackOp, ms: number): AfterStore {
    if (this.#network.isOffline(connection.clientId)) {
      throw new SyncKitError(
        'unavailable',
        `[sync-kit] [loopback] ${op} failed: client "${connection.clientId}" is offline ` +
          '(setOffline or partition); retry once it is back online',
        {},
      )
    }
    const failure = this.#network.takeFailure(connection.clientId, op)
    if (failure === undefined) return undefined
    if (!failure.afterStore) throw injected(failure, op, ms)
    return () => {
      throw injected(failure, op, ms)
    }
  }

  #latencyOf(connection: LoopbackConnection, op: LoopbackOp): number {
    const latency = this.#connectionLatency.get(connection) ?? this.#latency
    if (typeof latency === 'number') return latency
    const ms = latency({ clientId: connection.clientId, op })
    checkLatency(ms, 'the latencyMs function result')
    return ms
  }
}

/** The error of a call aborted during its latency. */
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

/** The error of an injected failure. */
function injected(failure: InjectedFailure, op: LoopbackOp, latencyMs: number): SyncKitError {
  const what = failure.afterStore
    ? `${op} failed after the hub stored the events (injected lost acknowledgement); retrying is safe: the hub reports them as duplicates`
    : `${op} failed (injected ${failure.code}); retry with backoff`
  const message = `[sync-kit] [loopback] ${what}`
  return failure.code === 'timeout'
    ? new SyncKitError('timeout', message, { timeoutMs: latencyMs })
    : new SyncKitError('unavailable', message, {})
}
