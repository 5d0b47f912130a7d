import { toWireError } from '../../core/wire-error.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { wireJson } from '../../server/index.js'
import type { FeedBatch } from '../../server/index.js'
import type { Subscription, Version } from '../../types/index.js'
import { isRequestId } from './protocol.js'
import type { RequestId } from './protocol.js'
import { SERVER, filtersOf, result } from './ws-fields.js'
import type { SessionSettings } from './ws-session.js'

/** One live subscription of a session. */
interface LiveSub {
  subscription: Subscription | undefined
  /** Resolves the wait for the client's `ack` of the batch in flight. */
  acked: (() => void) | undefined
  ended: boolean
}

/**
 * The live subscriptions of one WebSocket session, each a push-style subscription of the server
 * core: a batch goes out, the next only after the client's `ack` (so a subscription holds at most
 * one batch in the server's memory and a slow handler holds back its feed, not the socket). Every
 * subscription holds one of the endpoint's live slots (`maxStreams`, shared with SSE streams).
 */
export class SessionSubscriptions {
  readonly #settings: SessionSettings
  readonly #send: (text: string) => void
  readonly #closed: () => boolean
  readonly #subs = new Map<RequestId, LiveSub>()
  /** Events sent so far, for the socket's log record. */
  sentEvents = 0

  /**
   * @param settings - the server's settings.
   * @param send - sends a frame on the session's socket.
   * @param closed - tells whether the session closed.
   */
  constructor(settings: SessionSettings, send: (text: string) => void, closed: () => boolean) {
    this.#settings = settings
    this.#send = send
    this.#closed = closed
  }

  /**
   * Tells whether `id` names an open subscription.
   * @param id - a request id.
   * @returns true when it does.
   */
  has(id: RequestId): boolean {
    return this.#subs.has(id)
  }

  /**
   * Opens subscription `id`: takes a live slot, opens a feed of the server core after `since`
   * (or the head), answers with the stream's hello, then sends its batches.
   * @param id - the subscribe request's id.
   * @param message - the request (its `filters`).
   * @param since - the parsed cursor, or `null`.
   * @param tenant - the principal's tenant.
   * @returns `undefined`: the reply is sent here, before the first batch.
   * @throws SyncKitError `invalid-argument` past `maxSubscriptions`, `unavailable` past the live
   * slots, and what the server core's `subscribe` throws.
   */
  async open(
    id: RequestId,
    message: Readonly<Record<string, unknown>>,
    since: Version | null,
    tenant: string | undefined,
  ): Promise<string | undefined> {
    const { endpoint, limits } = this.#settings
    const { server, liveSlots } = endpoint
    if (this.#subs.size >= limits.maxSubscriptions) {
      throw new SyncKitError(
        'invalid-argument',
        `${SERVER} a socket may hold at most ${limits.maxSubscriptions} subscriptions; unsubscribe one first`,
        { argument: 'subscribe' },
      )
    }
    // The slot is taken before the first await, so concurrent subscribes cannot pass the limit.
    if (liveSlots.taken >= liveSlots.max) {
      throw new SyncKitError(
        'unavailable',
        `${SERVER} ${liveSlots.max} live subscriptions are open, the most this server allows; keep syncing by pull and subscribe again later`,
        {},
      )
    }
    liveSlots.taken++
    const sub: LiveSub = { subscription: undefined, acked: undefined, ended: false }
    this.#subs.set(id, sub)
    let announce!: () => void
    const announced = new Promise<void>((resolve) => (announce = resolve))
    try {
      const filters = filtersOf(message.filters)
      const head = await server.latestVersion()
      const start: Version = since ?? head.latestVersion
      const subscription = await server.subscribe(
        async (batch) => {
          await announced
          await this.#deliver(id, sub, batch)
        },
        {
          since: start,
          filters,
          tenant,
          // Re-reads the store on the heartbeat, for writes by other processes.
          pollMs: endpoint.heartbeatMs,
          onError: (error) => {
            if (sub.ended) return
            this.end(id)
            this.#send(JSON.stringify({ type: 'error', sub: id, ...toWireError(error, SERVER) }))
          },
        },
      )
      sub.subscription = subscription
      if (sub.ended || this.#closed()) {
        // Ended while the feed opened (the socket closed): end the feed too.
        this.#endSub(sub)
        void subscription.unsubscribe()
        return undefined
      }
      this.#send(
        result(id, {
          epoch: head.epoch,
          latestVersion: head.latestVersion.toString(),
          cursor: start.toString(),
        }),
      )
      return undefined
    } catch (error) {
      this.end(id)
      throw error
    } finally {
      // The reply went first: batches follow it (and a delivery never waits forever).
      announce()
    }
  }

  /** Sends one batch and waits for its `ack` (or the end of the subscription). */
  async #deliver(id: RequestId, sub: LiveSub, batch: FeedBatch): Promise<void> {
    if (sub.ended) return
    const events = batch.events
      .map((item, index) => batch.json?.[index] ?? wireJson(item))
      .join(',')
    const acked = new Promise<void>((resolve) => (sub.acked = resolve))
    this.#send(`{"type":"events","sub":${JSON.stringify(id)},"events":[${events}]}`)
    this.sentEvents += batch.events.length
    await acked
  }

  /**
   * The client handled the batch in flight of subscription `subId`: the next may go.
   * @param subId - the `sub` of the `ack`.
   */
  ack(subId: unknown): void {
    const sub = isRequestId(subId) ? this.#subs.get(subId) : undefined
    const acked = sub?.acked
    if (sub === undefined || acked === undefined) return
    sub.acked = undefined
    acked()
  }

  /**
   * Ends subscription `id`, if open.
   * @param id - the subscription.
   */
  end(id: RequestId): void {
    const sub = this.#subs.get(id)
    this.#subs.delete(id)
    if (sub !== undefined) this.#endSub(sub)
  }

  /** Ends every subscription (the socket closed). */
  endAll(): void {
    for (const id of [...this.#subs.keys()]) this.end(id)
  }

  /** Ends a subscription: its feed, its slot, a wait for an ack. Idempotent. */
  #endSub(sub: LiveSub): void {
    if (sub.ended) return
    sub.ended = true
    this.#settings.endpoint.liveSlots.taken--
    void sub.subscription?.unsubscribe()
    sub.acked?.()
    sub.acked = undefined
  }
}
