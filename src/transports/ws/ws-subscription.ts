import { ResumingSubscription } from '../../core/resuming-subscription.js'
import type {
  ConnectionOutcome,
  ResumingSubscriptionConfig,
} from '../../core/resuming-subscription.js'
import { untilAborted } from '../../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { EventWithVersion, Filter } from '../../types/index.js'
import { isObject } from './protocol.js'
import type { RequestId } from './protocol.js'
import { CLIENT } from './ws-connection.js'
import type { WsConnection } from './ws-connection.js'
import { toEventWithVersion } from './ws-results.js'

/** What one live subscription needs from the transport. */
export interface WsSubscriptionConfig extends Omit<ResumingSubscriptionConfig, 'client'> {
  readonly filters: readonly Filter[] | undefined
  /** The transport's connection, opened (and welcomed) when needed. */
  readonly connect: (signal: AbortSignal) => Promise<WsConnection>
  readonly nextId: () => RequestId
  readonly timeoutMs: number
  readonly onEnd: (subscription: WsSubscription) => void
}

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
 * or repeated. The loop, its retries and the resume are the shared {@link ResumingSubscription}'s,
 * as for the HTTP client's SSE stream.
 */
export class WsSubscription extends ResumingSubscription {
  readonly #config: WsSubscriptionConfig

  /**
   * Starts subscribing at once; `started` tells when the server accepted it.
   * @param config - handler, cursor, connection, policy, timers.
   */
  constructor(config: WsSubscriptionConfig) {
    super({ ...config, client: CLIENT })
    this.#config = config
    this.begin(() => config.onEnd(this))
  }

  /** One socket's share: subscribe from the cursor, then deliver until it ends. */
  protected async connection(): Promise<ConnectionOutcome> {
    const config = this.#config
    let connection: WsConnection
    try {
      connection = await config.connect(this.stop.signal)
    } catch (error) {
      return classify(error, this.stop.signal)
    }
    const id = config.nextId()
    const queue: Item[] = []
    let wake: (() => void) | undefined
    const push = (item: Item): void => {
      queue.push(item)
      wake?.()
    }
    // The server sends a subscription's next batch only after the `ack` of the one before, so at
    // most one is unacknowledged; a server that sends more is refused rather than queued here
    // without bound (a browser's WebSocket cannot stop reading).
    let unacked = 0
    let overrun = false
    connection.route(id, {
      events: (items) => {
        if (overrun) return
        if (unacked > 0) {
          overrun = true
          push({
            kind: 'error',
            error: protocolProblem(
              'the server sent a batch before the ack of the one before; it does not follow the protocol',
            ),
          })
          return
        }
        unacked++
        push({ kind: 'events', items })
      },
      error: (error) => push({ kind: 'error', error }),
      closed: (error) => push({ kind: 'closed', error }),
    })
    const stopped = (): void => wake?.()
    this.stop.signal.addEventListener('abort', stopped)
    try {
      const message: Record<string, unknown> = { type: 'subscribe', id }
      if (this.cursor !== undefined) message.since = this.cursor
      if (config.filters !== undefined && config.filters.length > 0)
        message.filters = config.filters
      let accepted: unknown
      try {
        // Stopping (unsubscribe, the signal, the transport's close) does not wait for the answer.
        accepted = await untilAborted(
          connection.request(id, JSON.stringify(message), config.timeoutMs),
          this.stop.signal,
          `${CLIENT} subscribe`,
        )
      } catch (error) {
        connection.forget(id)
        return classify(error, this.stop.signal)
      }
      if (
        !isObject(accepted) ||
        typeof accepted.epoch !== 'string' ||
        typeof accepted.cursor !== 'string' ||
        (accepted.latestVersion !== undefined && typeof accepted.latestVersion !== 'string')
      ) {
        return {
          kind: 'fatal',
          error: protocolProblem('the subscribe answer has an unexpected shape'),
        }
      }
      // The head, as the SSE hello's: a log that ends before the cursor (a server restored from a
      // backup, same epoch) is detected here instead of waiting past the events written since.
      const refused = this.accept(accepted.epoch, accepted.cursor, accepted.latestVersion)
      if (refused !== undefined) return refused
      for (;;) {
        if (this.stop.signal.aborted) return { kind: 'healthy-end' }
        const item = queue.shift()
        if (item === undefined) {
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
          continue
        }
        if (item.kind !== 'events') return classify(item.error, this.stop.signal)
        const batch = this.#batch(item.items)
        if (batch.length > 0 && !(await this.deliver(batch))) return { kind: 'healthy-end' }
        unacked--
        connection.send({ type: 'ack', sub: id })
      }
    } finally {
      this.stop.signal.removeEventListener('abort', stopped)
      connection.unroute(id, config.nextId())
    }
  }

  /** The batch's events strictly after the cursor (a replay never delivers twice). */
  #batch(items: readonly unknown[]): EventWithVersion[] {
    const batch: EventWithVersion[] = []
    let after = this.readPosition
    for (const raw of items) {
      const item = toEventWithVersion(raw, this.#config.toVersion, 'subscribe')
      if (after !== undefined && item.version.compare(after) <= 0) continue
      batch.push(item)
      after = item.version
    }
    return batch
  }
}

function protocolProblem(message: string): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${CLIENT} subscribe: ${message}`, {})
}

/** Transient failures reconnect; anything else ends the subscription. */
function classify(error: unknown, stop: AbortSignal): ConnectionOutcome {
  if (stop.aborted) return { kind: 'healthy-end' }
  if (isSyncKitError(error) && error.transient) {
    return { kind: 'transient', error, retryAfterMs: undefined }
  }
  return { kind: 'fatal', error }
}
