import { nextRetryWait, retryWait } from '../../core/retry.js'
import type { ResolvedRetryOptions, RetryBudget } from '../../core/retry.js'
import { delay } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type {
  EventHandler,
  EventWithVersion,
  Filter,
  Subscription,
  Timers,
  Version,
} from '../../types/index.js'
import { isObject } from './protocol.js'
import type { RequestId } from './protocol.js'
import { CLIENT } from './ws-connection.js'
import type { WsConnection } from './ws-connection.js'
import { toEventWithVersion } from './ws-results.js'

/** What one live subscription needs from the transport. */
export interface WsSubscriptionConfig {
  readonly handler: EventHandler
  readonly since: Version | undefined
  readonly filters: readonly Filter[] | undefined
  readonly knownEpoch: string | undefined
  readonly signal: AbortSignal | undefined
  readonly onError: ((error: unknown) => void) | undefined
  /** The transport's connection, opened (and welcomed) when needed. */
  readonly connect: (signal: AbortSignal) => Promise<WsConnection>
  readonly nextId: () => RequestId
  readonly toVersion: (value: string) => Version
  readonly onEpoch: (epoch: string) => void
  readonly lifetime: AbortSignal
  readonly retry: ResolvedRetryOptions
  readonly random: () => number
  readonly timers: Timers
  readonly timeoutMs: number
  readonly onEnd: (subscription: WsSubscription) => void
}

/** What ends one connection's share of the subscription. */
type Outcome =
  | { readonly kind: 'healthy-end' }
  | { readonly kind: 'transient'; readonly error: SyncKitError }
  | { readonly kind: 'fatal'; readonly error: unknown }

/** An item of a connection's queue for this subscription. */
type Item =
  | { readonly kind: 'events'; readonly items: readonly unknown[] }
  | { readonly kind: 'error'; readonly error: SyncKitError }
  | { readonly kind: 'closed'; readonly error: SyncKitError }

/**
 * One live subscription of the WebSocket client: subscribes on the transport's socket, delivers
 * each batch to the handler and then `ack`s it (the server sends the next batch only then), and
 * when the socket ends (a drop, the server's shutdown, a close for a slow reader, an idle socket)
 * reconnects with backoff and subscribes again from the last delivered cursor, so nothing is lost
 * or repeated. Its retries are the HTTP client's stream rules: bounded by `retry.retries` before
 * the first subscribe succeeded, unbounded (each failure to `onError`) afterwards, the backoff
 * reset by every successful subscribe.
 */
export class WsSubscription implements Subscription {
  /** Settles when the first subscribe was accepted (or failed for good). */
  readonly started: Promise<void>
  readonly #config: WsSubscriptionConfig
  readonly #stop = new AbortController()
  #cursor: string | undefined
  #cursorVersion: Version | undefined
  #epoch: string | undefined
  #delivering = false
  #isStarted = false
  readonly #retries: RetryBudget = { used: 0 }
  readonly #loop: Promise<void>
  #resolveStarted!: () => void
  #rejectStarted!: (error: unknown) => void

  /**
   * Starts subscribing at once; `started` tells when the server accepted it.
   * @param config - handler, cursor, connection, policy, timers.
   */
  constructor(config: WsSubscriptionConfig) {
    this.#config = config
    this.#cursor = config.since?.toString()
    this.#cursorVersion = config.since
    // Resuming from a cursor taken in a known epoch: another epoch makes the cursor meaningless.
    this.#epoch = config.since === undefined ? undefined : config.knownEpoch
    this.started = new Promise<void>((resolve, reject) => {
      this.#resolveStarted = resolve
      this.#rejectStarted = reject
    })
    const onAbort = (): void => this.#stop.abort()
    config.signal?.addEventListener('abort', onAbort, { once: true })
    config.lifetime.addEventListener('abort', onAbort, { once: true })
    this.#loop = this.#run().finally(() => {
      config.signal?.removeEventListener('abort', onAbort)
      config.lifetime.removeEventListener('abort', onAbort)
      config.onEnd(this)
    })
  }

  /** Stops delivery and the reconnect loop; resolves when the loop has ended. */
  async unsubscribe(): Promise<void> {
    this.#stop.abort()
    // From inside the handler the loop is waiting for us: no batch follows once stop is set.
    if (!this.#delivering) await this.#loop
  }

  #fail(error: unknown): void {
    if (!this.#isStarted) {
      this.#rejectStarted(error)
      return
    }
    try {
      this.#config.onError?.(error)
    } catch {
      // A throwing onError must not kill the loop.
    }
  }

  #stoppedError(): SyncKitError {
    if (this.#config.lifetime.aborted) {
      return new SyncKitError(
        'transport-closed',
        `${CLIENT} subscribe: the transport was closed`,
        {},
      )
    }
    return new SyncKitError(
      'aborted',
      `${CLIENT} subscribe was aborted`,
      {},
      { cause: this.#config.signal?.reason },
    )
  }

  async #run(): Promise<void> {
    const { retry, random, timers } = this.#config
    for (;;) {
      if (this.#stop.signal.aborted) {
        if (!this.#isStarted) this.#rejectStarted(this.#stoppedError())
        return
      }
      let outcome: Outcome
      try {
        outcome = await this.#connection()
      } catch (error) {
        outcome = { kind: 'fatal', error }
      }
      if (this.#stop.signal.aborted) continue
      if (outcome.kind === 'fatal') {
        this.#fail(outcome.error instanceof HandlerFailure ? outcome.error.cause : outcome.error)
        this.#stop.abort()
        continue
      }
      let wait: number | undefined
      if (outcome.kind === 'transient' && !this.#isStarted) {
        // Before the first subscribe succeeded, subscribe() is one call like any other.
        wait = nextRetryWait(this.#retries, undefined, retry, random)
        if (wait === undefined) {
          this.#fail(outcome.error)
          this.#stop.abort()
          continue
        }
      } else {
        if (outcome.kind === 'transient') this.#fail(outcome.error)
        this.#retries.used++
        wait = retryWait(this.#retries.used, undefined, retry, random)
      }
      try {
        await delay(wait, this.#stop.signal, timers.setTimeout, timers.clearTimeout)
      } catch {
        // Stopped while waiting; the loop head handles it.
      }
    }
  }

  /** One socket's share: subscribe from the cursor, then deliver until it ends. */
  async #connection(): Promise<Outcome> {
    const config = this.#config
    let connection: WsConnection
    try {
      connection = await config.connect(this.#stop.signal)
    } catch (error) {
      return classify(error, this.#stop.signal)
    }
    const id = config.nextId()
    const queue: Item[] = []
    let wake: (() => void) | undefined
    const push = (item: Item): void => {
      queue.push(item)
      wake?.()
    }
    connection.route(id, {
      events: (items) => push({ kind: 'events', items }),
      error: (error) => push({ kind: 'error', error }),
      closed: (error) => push({ kind: 'closed', error }),
    })
    const stopped = (): void => wake?.()
    this.#stop.signal.addEventListener('abort', stopped)
    try {
      const message: Record<string, unknown> = { type: 'subscribe', id }
      if (this.#cursor !== undefined) message.since = this.#cursor
      if (config.filters !== undefined && config.filters.length > 0)
        message.filters = config.filters
      let accepted: unknown
      try {
        accepted = await connection.request(id, JSON.stringify(message), config.timeoutMs)
      } catch (error) {
        return classify(error, this.#stop.signal)
      }
      const hello = this.#hello(accepted)
      if (hello !== undefined) return hello
      for (;;) {
        if (this.#stop.signal.aborted) return { kind: 'healthy-end' }
        const item = queue.shift()
        if (item === undefined) {
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
          continue
        }
        if (item.kind !== 'events') return classify(item.error, this.#stop.signal)
        const batch = this.#batch(item.items)
        if (batch.length > 0 && !(await this.#deliver(batch))) return { kind: 'healthy-end' }
        connection.send({ type: 'ack', sub: id })
      }
    } finally {
      this.#stop.signal.removeEventListener('abort', stopped)
      connection.unroute(id, config.nextId())
    }
  }

  /** Checks the subscribe's answer (the stream's hello); an outcome when it ends the connection. */
  #hello(accepted: unknown): Outcome | undefined {
    if (
      !isObject(accepted) ||
      typeof accepted.epoch !== 'string' ||
      typeof accepted.cursor !== 'string'
    ) {
      return {
        kind: 'fatal',
        error: protocolProblem('the subscribe answer has an unexpected shape'),
      }
    }
    if (this.#epoch !== undefined && accepted.epoch !== this.#epoch) {
      return {
        kind: 'fatal',
        error: protocolProblem(
          `the server's epoch changed from "${this.#epoch.slice(0, 64)}" to "${accepted.epoch.slice(0, 64)}"; it was wiped or replaced, so cursors are meaningless — pull from the beginning and subscribe again`,
        ),
      }
    }
    this.#epoch = accepted.epoch
    this.#config.onEpoch(accepted.epoch)
    if (this.#cursor === undefined) {
      this.#cursor = accepted.cursor
      this.#cursorVersion = this.#config.toVersion(accepted.cursor)
    }
    this.#retries.used = 0
    if (!this.#isStarted) {
      this.#isStarted = true
      this.#resolveStarted()
    }
    return undefined
  }

  /** The batch's events strictly after the cursor (a replay never delivers twice). */
  #batch(items: readonly unknown[]): EventWithVersion[] {
    const batch: EventWithVersion[] = []
    let after = this.#cursorVersion
    for (const raw of items) {
      const item = toEventWithVersion(raw, this.#config.toVersion, 'subscribe')
      if (after !== undefined && item.version.compare(after) <= 0) continue
      batch.push(item)
      after = item.version
    }
    return batch
  }

  /** Hands a batch to the handler; false when the subscription stopped meanwhile. */
  async #deliver(batch: readonly EventWithVersion[]): Promise<boolean> {
    if (this.#stop.signal.aborted) return false
    this.#delivering = true
    try {
      await this.#config.handler(batch)
    } catch (error) {
      throw new HandlerFailure(error)
    } finally {
      this.#delivering = false
    }
    const last = batch.at(-1)
    if (last !== undefined) {
      this.#cursor = last.version.toString()
      this.#cursorVersion = last.version
    }
    return !this.#stop.signal.aborted
  }
}

class HandlerFailure extends Error {
  constructor(cause: unknown) {
    super(`${CLIENT} subscribe: the handler threw; the subscription ended`, { cause })
  }
}

function protocolProblem(message: string): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${CLIENT} subscribe: ${message}`, {})
}

/** Transient failures reconnect; anything else ends the subscription. */
function classify(error: unknown, stop: AbortSignal): Outcome {
  if (stop.aborted) return { kind: 'healthy-end' }
  if (isSyncKitError(error) && error.transient) return { kind: 'transient', error }
  return { kind: 'fatal', error }
}
