import { SERVER_EPOCH_CHECKPOINT_REMOTE } from '../../core/epoch.js'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { CheckpointKey, Clock, EventStore, Timers } from '../../types/index.js'

/**
 * The checkpoint a write probe sets: the server's reserved remote (whose `pull` direction holds
 * the epoch in stores without a place of their own for it), direction `push`, which nothing reads.
 */
const PROBE_KEY: CheckpointKey = { remote: SERVER_EPOCH_CHECKPOINT_REMOTE, direction: 'push' }

/** Least time between two write probes while the store is failing, in ms. */
export const HEALTH_PROBE_INTERVAL_MS = 1000

/** Longest wait for the database's answer to a health check's ping, in ms. */
export const HEALTH_PING_TIMEOUT_MS = 2000

/**
 * The `database` part of the `GET /v1/health` body, for a store reached over a network (one with
 * `ping`, such as the PostgreSQL store).
 */
export interface DatabaseHealthReport {
  /** Whether the last ping (at most one a second) was answered. */
  readonly reachable: boolean
  /** Round trip of the last ping, in ms, while reachable. */
  readonly latencyMs?: number
  /** Since when the database has not answered (ISO 8601), while it does not. */
  readonly since?: string
  /** The error code of the last failed ping (`unavailable`, …), while it fails. */
  readonly code?: string
  /** Its message, naming the cause, while it fails. */
  readonly message?: string
}

/** The `store` part of the `GET /v1/health` body. */
export interface StoreHealthReport {
  /** False while the last write failed and no probe since succeeded. */
  readonly writable: boolean
  /** When the store started failing (ISO 8601), while it is. */
  readonly since?: string
  /** The error code of the last failure, while failing (`unavailable`, `internal`). */
  readonly code?: string
  /** Its message, naming the cause (e.g. a full disk), while failing. */
  readonly message?: string
}

/**
 * Whether the store can write, for `GET /v1/health`: the outcome of the last push's write, and,
 * while that failed, a write probe (a checkpoint under the server's reserved remote) at most once
 * per {@link HEALTH_PROBE_INTERVAL_MS}, so the server reports healthy again — and a load
 * balancer routes to it again — once the cause is gone, without a restart and without waiting
 * for a push.
 */
export class StoreHealth {
  readonly #store: EventStore
  readonly #clock: Clock
  readonly #timers: Timers
  #database: { readonly at: number; readonly report: DatabaseHealthReport } | undefined
  #ping: Promise<DatabaseHealthReport> | undefined
  #failure: { readonly at: number; readonly code: string; readonly message: string } | undefined
  #lastProbe = -Infinity
  #probe: Promise<void> | undefined

  /**
   * @param store - the store.
   * @param clock - for `since` and the probe interval.
   * @param timers - bound the wait for a ping.
   */
  constructor(store: EventStore, clock: Clock, timers: Timers) {
    this.#store = store
    this.#clock = clock
    this.#timers = timers
  }

  /**
   * Whether the database answers, for a store with `ping` (else `undefined`): a ping at most once
   * per {@link HEALTH_PROBE_INTERVAL_MS} (concurrent checks share it; in between, the last answer
   * is reported), waiting at most {@link HEALTH_PING_TIMEOUT_MS}.
   * @returns the report, or `undefined` for a store without `ping`.
   */
  async database(): Promise<DatabaseHealthReport | undefined> {
    if (this.#store.ping === undefined) return undefined
    const last = this.#database
    if (last !== undefined && this.#clock.now() - last.at < HEALTH_PROBE_INTERVAL_MS) {
      return last.report
    }
    this.#ping ??= this.#runPing().finally(() => (this.#ping = undefined))
    return this.#ping
  }

  async #runPing(): Promise<DatabaseHealthReport> {
    const started = this.#clock.now()
    const controller = new AbortController()
    const timer = this.#timers.setTimeout(() => controller.abort(), HEALTH_PING_TIMEOUT_MS)
    let report: DatabaseHealthReport
    try {
      await this.#store.ping?.({ signal: controller.signal })
      report = { reachable: true, latencyMs: Math.max(0, this.#clock.now() - started) }
    } catch (error) {
      const timedOut = controller.signal.aborted
      const previous = this.#database?.report
      report = {
        reachable: false,
        since:
          previous?.reachable === false && previous.since !== undefined
            ? previous.since
            : new Date(started).toISOString(),
        code: timedOut ? 'unavailable' : isSyncKitError(error) ? error.code : 'internal',
        message: timedOut
          ? `[sync-kit] [http-server] the database did not answer a ping within ${HEALTH_PING_TIMEOUT_MS} ms`
          : error instanceof Error
            ? error.message
            : String(error),
      }
    } finally {
      this.#timers.clearTimeout(timer)
    }
    this.#database = { at: this.#clock.now(), report }
    return report
  }

  /**
   * Records the outcome of a write the server made for a client.
   * @param error - what it threw, or `undefined` when it succeeded. Only failures of the store
   * count (`unavailable`, `internal`, `closed`); a refusal of the client's request does not.
   */
  recordWrite(error?: unknown): void {
    if (error === undefined) {
      this.#failure = undefined
      return
    }
    const code = isSyncKitError(error) ? error.code : 'internal'
    if (code !== 'unavailable' && code !== 'internal' && code !== 'closed') return
    this.#failure = {
      at: this.#failure?.at ?? this.#clock.now(),
      code,
      message: error instanceof Error ? error.message : String(error),
    }
  }

  /**
   * The store's state: healthy without any I/O while the last write succeeded; else after a
   * write probe (one at a time, at most once per interval).
   * @returns the report.
   */
  async check(): Promise<StoreHealthReport> {
    if (
      this.#failure !== undefined &&
      this.#clock.now() - this.#lastProbe >= HEALTH_PROBE_INTERVAL_MS
    ) {
      this.#probe ??= this.#runProbe().finally(() => (this.#probe = undefined))
      await this.#probe
    }
    const failure = this.#failure
    if (failure === undefined) return { writable: true }
    return {
      writable: false,
      since: new Date(failure.at).toISOString(),
      code: failure.code,
      message: failure.message,
    }
  }

  async #runProbe(): Promise<void> {
    this.#lastProbe = this.#clock.now()
    try {
      await this.#store.setCheckpoint(PROBE_KEY, { version: '0' })
      this.recordWrite()
    } catch (error) {
      this.recordWrite(error)
    }
  }
}
