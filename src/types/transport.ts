import type { Filter, SignalOptions } from './common.js'
import type { Event, EventWithVersion } from './event.js'
import type { Version } from './version.js'

/**
 * Where a live batch sits in the remote's log, told by a transport that knows (the built-in
 * transports do; a custom transport may leave it out). With it, a `SyncManager` in live mode
 * stores the batch as it comes instead of pulling the same events again.
 */
export interface LiveBatchInfo {
  /** The remote's epoch (see {@link PullResult.epoch}) the batch's versions belong to. */
  readonly epoch: string
  /**
   * The version the batch follows: the batch holds every event strictly after it (that matches
   * the subscription's filters), up to its own last, in order, none left out. A transport that
   * cannot promise that (e.g. after a reconnect that may have skipped events) must not say it.
   */
  readonly after: Version
}

/**
 * Handles a batch of events delivered by a live subscription. The transport awaits the returned
 * promise before it delivers the next batch (backpressure), and starts none after
 * {@link Subscription.unsubscribe} was called.
 * @param events - the batch, oldest first, each with its remote version.
 * @param info - the batch's epoch and the version it follows, when the transport knows them.
 */
export type EventHandler = (
  events: readonly EventWithVersion[],
  info?: LiveBatchInfo,
) => void | Promise<void>

/** The outcome of a push. */
export interface PushResult {
  /** Events the remote stored for the first time. */
  readonly stored: number
  /** Events the remote already held (same id, same content): at-least-once delivery is safe. */
  readonly duplicates: number
  /** The remote's epoch (see {@link PullResult.epoch}), when it reports one. */
  readonly epoch?: string
}

/** Options for {@link Transport.push}. */
export interface PushOptions extends SignalOptions {
  /**
   * Store the events only while the remote's epoch is still this one. A remote with another epoch
   * (wiped or replaced since the caller's checkpoint) stores nothing and rejects with
   * `epoch-mismatch`, whose details carry its current epoch. This keeps a replaced remote's new
   * log in causal order: the caller re-sends its history from the beginning before anything newer.
   * Remotes without epochs ignore it.
   */
  readonly ifEpoch?: string
}

/** Options for {@link Transport.pull}. */
export interface PullOptions extends SignalOptions {
  /** Page size: at most this many events. A positive integer. @defaultValue the transport's own */
  readonly limit?: number
  /** Filters, as in {@link Filter}. */
  readonly filters?: readonly Filter[]
}

/** One page of a pull. */
export interface PullResult {
  /** Events strictly after the requested version, in the remote's order. */
  readonly events: readonly EventWithVersion[]
  /** True when more events follow this page. */
  readonly hasMore: boolean
  /**
   * An id the remote keeps for the life of its log. When it changes, the remote was wiped or
   * replaced, and checkpoints taken against the old epoch are meaningless.
   */
  readonly epoch?: string
}

/** Options for {@link Transport.subscribe}. */
export interface SubscribeOptions extends SignalOptions {
  /** Deliver events strictly after this remote version; `null` or absent: only new events. */
  readonly since?: Version | null
  /** Filters, as in {@link Filter}. */
  readonly filters?: readonly Filter[]
  /** Called when the live connection fails (the transport may retry on its own). */
  readonly onError?: (error: unknown) => void
}

/** A live subscription; stop it with `unsubscribe` or the `signal` given to `subscribe`. */
export interface Subscription {
  /**
   * Stops delivery. Idempotent, and safe to call (and await) from inside the handler.
   *
   * Guarantees, for the built-in transports:
   * - No handler call starts after `unsubscribe()` was called (events read but not yet handed
   *   over are dropped; a later `subscribe` with `since` gets them again).
   * - Called while no handler call runs, it resolves once the connection is closed.
   * - Called while a handler call runs, it resolves without waiting for that call to settle. A
   *   transport cannot tell a call from elsewhere from one the handler makes on itself, and the
   *   latter, awaited, would wait for itself forever. Code that must know the handler's work is
   *   done (before closing the store it writes to) awaits that work itself: a `SyncManager` does —
   *   its `stop()` and `close()` resolve after a live batch in flight was stored.
   * @returns when delivery stopped, as above.
   */
  unsubscribe(): Promise<void>
}

/**
 * Communication with one remote (a server or a peer).
 *
 * Contract (checked by `transportConformance` in `sync-kit/testing`):
 * - `push` is idempotent by event id: a retried push stores each event once.
 * - `pull(since)` returns events strictly after `since` in the remote's sequence space, paged.
 * - Versions returned by `pull`, `latestVersion` and subscriptions belong to the remote; turn
 *   their strings back into versions with `parseVersion`.
 * - After `close()` every call rejects with `transport-closed`.
 *
 * @example
 * ```ts
 * import type { Transport } from 'sync-kit/types'
 * import { createLoopbackHub } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * const transport: Transport = hub.connect('replica-a')
 * const { events, hasMore } = await transport.pull(null, { limit: 500 })
 * ```
 */
export interface Transport {
  /**
   * Sends events to the remote. Only the events travel: a local cursor means nothing in the
   * remote's sequence space.
   * @param events - the events to send, in order.
   * @returns how many were new and how many duplicates.
   * @throws SyncKitError `invalid-event`, `event-id-conflict`, `epoch-mismatch`,
   * `payload-too-large`, `unavailable`, `timeout`, `transport-closed`, `aborted`.
   */
  push(events: readonly Event[], options?: PushOptions): Promise<PushResult>
  /**
   * Fetches one page of events strictly after `since`.
   * @param since - a version this transport returned, or `null` for the beginning.
   * @returns the page, whether more follow, and the remote's epoch.
   * @throws SyncKitError `version-parse`, `unavailable`, `timeout`, `transport-closed`, `aborted`.
   */
  pull(since: Version | null, options?: PullOptions): Promise<PullResult>
  /**
   * The remote's latest version, without pulling events.
   * @throws SyncKitError `unavailable`, `timeout`, `transport-closed`, `aborted`.
   */
  latestVersion(options?: SignalOptions): Promise<Version>
  /**
   * Optional capability: live delivery of new events. The `SyncManager` falls back to polling
   * when absent.
   * @param handler - receives batches, awaited before the next one.
   * @returns the subscription, once established.
   * @throws SyncKitError `unavailable`, `transport-closed`, `aborted`.
   */
  subscribe?(handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>
  /**
   * Parses a version string this transport produced (e.g. a stored pull checkpoint).
   * @throws SyncKitError `version-parse`.
   */
  parseVersion(value: string): Version
  /** Closes connections and subscriptions. Idempotent. */
  close(): Promise<void>
}
