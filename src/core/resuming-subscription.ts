import { delay } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type {
  EventHandler,
  EventWithVersion,
  Subscription,
  Timers,
  Version,
} from '../types/index.js'
import { nextRetryWait, retryWait } from './retry.js'
import type { ResolvedRetryOptions, RetryBudget } from './retry.js'

/**
 * Most events a subscription reads ahead of its handler (while the handler works on a batch)
 * before it stops reading: 2,000. What was read meanwhile goes to the handler as one batch, so a
 * handler slower than the stream gets fewer, larger batches (at 100 live clients, one network
 * chunk per batch — ~50 events — could not keep up) and the server's stream is still held back
 * when the handler falls far behind.
 */
export const MAX_READ_AHEAD_EVENTS = 2_000

/** How one connection of a {@link ResumingSubscription} ended. */
export type ConnectionOutcome =
  | { readonly kind: 'healthy-end' }
  | {
      readonly kind: 'transient'
      readonly error: SyncKitError
      readonly retryAfterMs: number | undefined
    }
  | { readonly kind: 'fatal'; readonly error: unknown }

/** What every resuming subscription needs from its transport. */
export interface ResumingSubscriptionConfig {
  readonly handler: EventHandler
  /** Deliver events strictly after this version; absent: from the server's head at start. */
  readonly since: Version | undefined
  /** The transport's last known epoch: with `since`, the epoch the cursor belongs to. */
  readonly knownEpoch: string | undefined
  readonly signal: AbortSignal | undefined
  readonly onError: ((error: unknown) => void) | undefined
  /** Parses the server's version strings. */
  readonly toVersion: (value: string) => Version
  /** Tells the transport the epoch each accepted connection reported. */
  readonly onEpoch: (epoch: string) => void
  /** Aborted by the transport's `close()`. */
  readonly lifetime: AbortSignal
  readonly retry: ResolvedRetryOptions
  readonly random: () => number
  readonly timers: Timers
  /** The tag of the client's messages, e.g. `[sync-kit] [http-client]`. */
  readonly client: string
}

/**
 * The one live-subscription loop of the client transports (the HTTP client's SSE stream, the
 * WebSocket client's subscription): connect, deliver batches to the handler one at a time —
 * reading on meanwhile, up to {@link MAX_READ_AHEAD_EVENTS}, and handing what was read over as the
 * next batch — keep the cursor of the last batch it finished, and after a drop (once the handler
 * has what was read) reconnect with full-jitter backoff and resume strictly after that cursor,
 * so nothing is lost or repeated. One retry layer: bounded by `retry.retries` until the first
 * connection was accepted (then `subscribe()` rejects), and
 * unbounded afterwards (each failure to `onError`), the backoff reset by every accepted
 * connection; a non-transient failure (a changed epoch, a handler that throws) ends it.
 *
 * A wire implements {@link ResumingSubscription.connection} and calls
 * {@link ResumingSubscription.accept} when the server accepted it and
 * {@link ResumingSubscription.deliver} for each batch; it calls `begin()` at the end of its
 * constructor.
 */
export abstract class ResumingSubscription implements Subscription {
  /** Settles when the first connection was accepted (or failed for good). */
  readonly started: Promise<void>
  /** Aborted once the subscription stops (unsubscribe, its signal, the transport's close). */
  protected readonly stop: AbortController = new AbortController()
  /** The version string of the last delivered event (or the accepted start). */
  protected cursor: string | undefined
  /** The same, parsed. */
  protected cursorVersion: Version | undefined
  /** Reconnections since the last accepted connection: the backoff window, and the budget before the first. */
  protected readonly retries: RetryBudget = { used: 0 }
  readonly #base: ResumingSubscriptionConfig
  #epoch: string | undefined
  #delivering = false
  /** Events read while the handler works, handed over next as one batch. */
  #ahead: EventWithVersion[] = []
  /** The hand-over running now (until {@link ResumingSubscription.#ahead} is empty). */
  #pump: Promise<void> | undefined
  /** The last event read (handed over, or waiting in {@link ResumingSubscription.#ahead}). */
  #read: Version | undefined
  #isStarted = false
  #loop: Promise<void> = Promise.resolve()
  #resolveStarted!: () => void
  #rejectStarted!: (error: unknown) => void

  /**
   * @param config - handler, cursor, policy, timers.
   */
  constructor(config: ResumingSubscriptionConfig) {
    this.#base = config
    this.cursor = config.since?.toString()
    this.cursorVersion = config.since
    // Resuming from a cursor taken in a known epoch: another epoch at accept means the cursor is
    // meaningless.
    this.#epoch = config.since === undefined ? undefined : config.knownEpoch
    this.started = new Promise<void>((resolve, reject) => {
      this.#resolveStarted = resolve
      this.#rejectStarted = reject
    })
  }

  /**
   * Starts the loop; called by the subclass once its own fields are set.
   * @param onEnd - called once the loop has ended.
   */
  protected begin(onEnd: () => void): void {
    const { signal, lifetime } = this.#base
    const onAbort = (): void => this.stop.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    lifetime.addEventListener('abort', onAbort, { once: true })
    this.#loop = this.#run().finally(() => {
      signal?.removeEventListener('abort', onAbort)
      lifetime.removeEventListener('abort', onAbort)
      onEnd()
    })
  }

  /**
   * Stops delivery and the reconnect loop: no handler call starts afterwards.
   * @returns when the loop has ended — or at once while a handler call runs (see
   * `Subscription.unsubscribe`): the loop waits for that call, and a handler awaiting its own
   * unsubscribe would then wait for itself.
   */
  async unsubscribe(): Promise<void> {
    this.stop.abort()
    // While a handler call runs, the loop waits for it, and JavaScript cannot tell whether that
    // handler is the caller: no batch follows once stop is set, and waiting could deadlock.
    if (!this.#delivering) await this.#loop
  }

  /**
   * One connection, from connecting to its end.
   * @returns how it ended.
   */
  protected abstract connection(): Promise<ConnectionOutcome>

  /**
   * The server accepted a connection (SSE `hello`, the WebSocket subscribe's answer).
   * @param epoch - the epoch it reported.
   * @param start - the cursor it starts after (used when the subscription had none).
   * @param head - the server's latest version, when the wire reports it (the SSE `hello`).
   * @returns a fatal outcome when the epoch changed under a cursor, or the log's head fell below
   * the cursor (a server restored from a backup), else `undefined`.
   */
  protected accept(epoch: string, start: string, head?: string): ConnectionOutcome | undefined {
    const previous = this.#epoch
    if (previous !== undefined && epoch !== previous) {
      return {
        kind: 'fatal',
        error: new SyncKitError(
          'protocol',
          `${this.#base.client} subscribe: the server's epoch changed from "${previous.slice(0, 64)}" to "${epoch.slice(0, 64)}"; it was wiped or replaced, so cursors are meaningless — pull from the beginning and subscribe again`,
          {},
        ),
      }
    }
    // Same epoch, yet the log ends before our cursor: it regressed, and resuming would wait past
    // the events written since the restore. Fatal, so the caller pulls again and re-subscribes.
    if (
      head !== undefined &&
      this.cursorVersion !== undefined &&
      this.#base.toVersion(head).compare(this.cursorVersion) < 0
    ) {
      return {
        kind: 'fatal',
        error: new SyncKitError(
          'protocol',
          `${this.#base.client} subscribe: the server's log ends at ${head.slice(0, 64)}, before this subscription's cursor ${String(this.cursor).slice(0, 64)}; it regressed (restored from a backup?), so pull it again and subscribe again`,
          {},
        ),
      }
    }
    this.#epoch = epoch
    this.#base.onEpoch(epoch)
    if (this.cursor === undefined) {
      this.cursor = start
      this.cursorVersion = this.#base.toVersion(start)
    }
    this.retries.used = 0
    if (!this.#isStarted) {
      this.#isStarted = true
      this.#resolveStarted()
    }
    return undefined
  }

  /**
   * Where reading is: the last event read, handed over or not (the cursor, when none is waiting).
   * A wire drops events at or before it (a replay never delivers twice).
   */
  protected get readPosition(): Version | undefined {
    return this.#read ?? this.cursorVersion
  }

  /**
   * Queues a batch for the handler and returns once reading may go on: at once while fewer than
   * {@link MAX_READ_AHEAD_EVENTS} events wait, else when the handler has taken them. The handler
   * gets one batch at a time, each following the cursor (the end of the batch before), which
   * moves when the handler finished it. A handler that throws ends the subscription (`onError`).
   * @param batch - the events, strictly after {@link ResumingSubscription.readPosition}.
   * @returns false when the subscription stopped meanwhile.
   */
  protected async deliver(batch: readonly EventWithVersion[]): Promise<boolean> {
    if (this.stop.signal.aborted) return false
    for (const item of batch) this.#ahead.push(item)
    const last = batch.at(-1)
    if (last !== undefined) this.#read = last.version
    // Only with something to hand over: a hand-over with nothing to do ends at once, before
    // `#pump` is set, which would then hold its settled promise and start no later one.
    if (this.#ahead.length > 0) this.#pump ??= this.#handOver()
    if (this.#ahead.length >= MAX_READ_AHEAD_EVENTS) await this.#pump
    return !this.stop.signal.aborted
  }

  /** Hands what was read to the handler, batch after batch, until nothing waits. */
  async #handOver(): Promise<void> {
    try {
      while (this.#ahead.length > 0 && !this.stop.signal.aborted) {
        const batch = this.#ahead
        this.#ahead = []
        // Every batch follows the cursor, in the epoch the connection was accepted in: a
        // reconnect resumes strictly after the last delivered event.
        const after = this.cursorVersion
        const epoch = this.#epoch
        this.#delivering = true
        try {
          await (after === undefined || epoch === undefined
            ? this.#base.handler(batch)
            : this.#base.handler(batch, { epoch, after }))
        } finally {
          this.#delivering = false
        }
        const last = batch.at(-1) as EventWithVersion
        this.cursor = last.version.toString()
        this.cursorVersion = last.version
      }
    } catch (error) {
      // The handler threw: the subscription ends, reporting the handler's error — unless it was
      // stopped meanwhile (a handler cut short by unsubscribe, the signal or close is no failure).
      if (!this.stop.signal.aborted) this.#fail(error)
      this.stop.abort()
    } finally {
      this.#ahead = []
      this.#read = undefined
      this.#pump = undefined
    }
  }

  #fail(error: unknown): void {
    if (!this.#isStarted) {
      this.#rejectStarted(error)
      return
    }
    try {
      this.#base.onError?.(error)
    } catch {
      // A throwing onError must not kill the loop.
    }
  }

  #stoppedError(): SyncKitError {
    const { client, lifetime, signal } = this.#base
    if (lifetime.aborted) {
      return new SyncKitError(
        'transport-closed',
        `${client} subscribe: the transport was closed`,
        {},
      )
    }
    return new SyncKitError(
      'aborted',
      `${client} subscribe was aborted`,
      {},
      { cause: signal?.reason },
    )
  }

  async #run(): Promise<void> {
    const { retry, random, timers } = this.#base
    for (;;) {
      if (this.stop.signal.aborted) {
        if (!this.#isStarted) this.#rejectStarted(this.#stoppedError())
        return
      }
      let outcome: ConnectionOutcome
      try {
        outcome = await this.connection()
      } catch (error) {
        outcome = { kind: 'fatal', error }
      }
      // What was read goes to the handler before anything else: the cursor then covers it.
      await this.#pump
      if (this.stop.signal.aborted) continue
      if (outcome.kind === 'fatal') {
        this.#fail(outcome.error)
        this.stop.abort()
        continue
      }
      let wait: number | undefined
      if (outcome.kind === 'transient' && !this.#isStarted) {
        // Before the first accepted connection, subscribe() is one call like any other: the same
        // retry budget applies, and subscribe() rejects when it runs out (its caller decides).
        wait = nextRetryWait(this.retries, outcome.retryAfterMs, retry, random)
        if (wait === undefined) {
          this.#fail(outcome.error)
          this.stop.abort()
          continue
        }
      } else {
        // Once started, only the subscription can reconnect (its caller holds a live
        // subscription): it does so until stopped, reporting each failure to onError.
        if (outcome.kind === 'transient') this.#fail(outcome.error)
        this.retries.used++
        const retryAfterMs = outcome.kind === 'transient' ? outcome.retryAfterMs : undefined
        wait = retryWait(this.retries.used, retryAfterMs, retry, random)
      }
      try {
        await delay(wait, this.stop.signal, timers.setTimeout, timers.clearTimeout)
      } catch {
        // Stopped while waiting; the loop head handles it.
      }
    }
  }
}
