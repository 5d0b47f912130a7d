import { throwIfAborted } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type {
  Event,
  EventStore,
  EventWithVersion,
  Filter,
  Subscription,
  Timers,
  Version,
} from '../types/index.js'
import { readPage } from './page.js'

/** One batch a feed hands out. */
export interface FeedBatch {
  /** Events strictly after the feed's previous batch, oldest first; empty after a timed-out wait. */
  readonly events: readonly EventWithVersion[]
  /** Each event's wire JSON at the same index, when the batch was read within a byte budget. */
  readonly json?: readonly string[]
  /** False while the feed replays what was stored before it first caught up; true afterwards. */
  readonly live: boolean
  /**
   * The feed's cursor before this batch: the batch holds every matching event strictly after it,
   * up to its own last (the feed leaves no gap); `null` before the feed began.
   */
  readonly after: Version | null
}

/** Options of {@link Feed.next}. */
export interface FeedNextOptions {
  /**
   * How long to wait when no event is there, in ms; then the call resolves with an empty batch (a
   * heartbeat point) and the next call re-reads the store. `0` never waits.
   * @defaultValue `Infinity`
   */
  readonly waitMs?: number
  /** Cancels the call: it rejects with `aborted`; the feed stays usable. */
  readonly signal?: AbortSignal | undefined
}

/** What a feed needs from its server. */
export interface FeedHost {
  readonly store: EventStore
  /** True when every write to the store goes through the server: pushes are handed over directly. */
  readonly soleWriter: boolean
  readonly timers: Timers
  /** Lets `idle()` wait for the work: a feed tracks each span of being busy. */
  track(work: Promise<unknown>): void
  /** Forgets the feed once it ended. */
  detach(feed: Feed): void
}

/** What a feed reads. */
export interface FeedScope {
  readonly filters: readonly Filter[]
  readonly matches: (event: Event) => boolean
  /** Most events per batch read from the store. */
  readonly limit: number
  /** Byte budget of a batch read from the store (`Infinity`: none). */
  readonly maxBytes: number
}

/**
 * A reader of the log that follows it: first the stored events after its cursor, then new ones,
 * with no gap and no repeat at the hand-over. The one live mechanism under every wire: pull-style
 * through {@link Feed.next} (an SSE stream's `pull`), push-style through {@link pumpFeed}.
 *
 * How: the server registers the feed before anything is read, and offers it every batch it
 * stores. The store stays the truth: a feed reads it after its cursor whenever it may hold more
 * (at the start with a cursor, after a full page, after `notify()`, after a wake-up by a push,
 * after a timed-out wait), and only an empty read with no wake-up meanwhile counts as caught up.
 * With a sole writer, a caught-up feed takes pushed batches as they are instead (no store read),
 * when they follow what it has covered (its tail); a queued batch is trimmed to what lies after
 * its cursor when it is handed out.
 */
export class Feed {
  readonly #host: FeedHost
  readonly #scope: FeedScope
  #cursor: Version | null = null
  /**
   * How far the feed has covered the log (sole writer only): every matching event up to it was
   * returned or is queued. A pushed batch is queued only when it follows a version at or before
   * it; else the feed reads the store.
   */
  #tail: Version | null = null
  /** Batches handed over by pushes (sole writer only), not yet returned. */
  #queue: (readonly EventWithVersion[])[] = []
  /** The store may hold events after the cursor that this feed did not read. */
  #stale = false
  /** Caught up at least once: batches from now on are live. */
  #live = false
  #begun = false
  #ended = false
  #reading = false
  #waker: (() => void) | undefined
  /** Ends the span of work the host tracks while the feed is busy (reading, not asleep). */
  #endSpan: (() => void) | undefined

  /**
   * Made by the server, which registers it and then calls {@link Feed.begin}.
   * @param host - the server.
   * @param scope - filters and page size.
   */
  constructor(host: FeedHost, scope: FeedScope) {
    this.#host = host
    this.#scope = scope
  }

  /** True once the feed ended (closed by its reader or by the server). */
  get ended(): boolean {
    return this.#ended
  }

  /**
   * Sets the starting cursor.
   * @param cursor - the version after which to read.
   * @param replay - true to read the store after `cursor` first; false when `cursor` is the head.
   */
  begin(cursor: Version, replay: boolean): void {
    this.#cursor = cursor
    this.#tail = cursor
    this.#begun = true
    // A push or notify() between registering and now already marked the feed stale: the head the
    // server read may predate that write, so keep it (re-reading after the head is harmless).
    this.#stale ||= replay
    this.#live = !replay
    this.#wake()
  }

  /**
   * Offers freshly stored events (in version order). Called by the server after every push.
   * @param fresh - the new events of one push.
   * @param after - the log's version before them, when the server knows nobody else wrote in
   * between (a sole writer; what lies between was offered just before, as the earlier pushes of
   * one group commit): the batch is then queued as it is if the feed has covered the log up to
   * there; otherwise (or without it) the feed reads the store.
   */
  offer(fresh: readonly EventWithVersion[], after?: Version): void {
    if (this.#ended) return
    const last = fresh.at(-1)
    if (last === undefined) return
    const batch = fresh.filter((item) => this.#scope.matches(item.event))
    const tail = this.#tail
    // (No tail before the feed began: it reads the store then.)
    if (after !== undefined && tail !== null && after.compare(tail) <= 0) {
      if (last.version.compare(tail) > 0) this.#tail = last.version
      if (batch.length === 0) return
      this.#queue.push(batch)
    } else {
      if (batch.length === 0 && !this.#host.soleWriter) return
      this.#stale = true
    }
    this.#wake()
  }

  /** The store may hold events written by others: re-read it after the cursor. */
  notify(): void {
    if (this.#ended) return
    this.#stale = true
    this.#wake()
  }

  /**
   * The next batch after the cursor: at once when there is one, else when a push or `notify()`
   * brings one, else an empty batch once `waitMs` passed. One call at a time.
   * @param options - how long to wait, cancellation.
   * @returns the batch, or `undefined` once the feed ended.
   * @throws SyncKitError `aborted`; `invalid-argument` for overlapping calls; whatever the store's
   * `load` throws (the feed stays usable).
   */
  async next(options: FeedNextOptions = {}): Promise<FeedBatch | undefined> {
    if (this.#reading) {
      throw new SyncKitError('invalid-argument', '[sync-kit] [server] one feed.next() at a time', {
        argument: 'next',
      })
    }
    const { signal } = options
    const waitMs = options.waitMs ?? Infinity
    let timedOut = waitMs <= 0
    let timer: unknown
    this.#reading = true
    this.#beginSpan()
    try {
      for (;;) {
        throwIfAborted(signal, '[sync-kit] [server] feed.next')
        if (this.#ended) return undefined
        if (this.#begun && this.#stale) {
          const batch = await this.#read(signal)
          if (batch !== undefined) return batch
          continue
        }
        const shifted = this.#begun ? this.#queue.shift() : undefined
        if (shifted !== undefined) {
          // A store read since the push was queued may have returned some of it already.
          const after = this.#cursor
          const queued =
            after === null ? shifted : shifted.filter((item) => item.version.compare(after) > 0)
          if (queued.length === 0) continue
          this.#cursor = (queued.at(-1) as EventWithVersion).version
          return { events: queued, live: true, after }
        }
        if (timedOut) {
          // Writes by others that no notify() announced are found on the next call — a sole
          // writer's too: another process on its SQLite file is heard by no watch, and its own
          // next push may be long in coming.
          this.#stale = true
          return { events: [], live: this.#live, after: this.#cursor }
        }
        if (timer === undefined && waitMs < Infinity) {
          timer = this.#host.timers.setTimeout(() => {
            timedOut = true
            this.#wake()
          }, waitMs)
        }
        this.#endSpan?.()
        await this.#sleep(signal)
      }
    } finally {
      this.#endSpan?.()
      this.#reading = false
      if (timer !== undefined) this.#host.timers.clearTimeout(timer)
    }
  }

  /** Ends the feed: `next()` resolves `undefined` from now on. Idempotent. */
  close(): void {
    if (this.#ended) return
    this.#ended = true
    this.#queue = []
    this.#wake()
    this.#host.detach(this)
  }

  async #read(signal: AbortSignal | undefined): Promise<FeedBatch | undefined> {
    const live = this.#live
    this.#stale = false
    const { filters, limit, maxBytes } = this.#scope
    const after = this.#cursor
    let page
    try {
      page = await readPage(this.#host.store, after, { limit, maxBytes, filters, signal })
    } catch (error) {
      this.#stale = true
      throw error
    }
    if (this.#ended) return undefined
    if (page.hasMore) this.#stale = true
    this.#cursor = page.events.at(-1)?.version ?? this.#cursor
    const cursor = this.#cursor
    if (cursor !== null && (this.#tail === null || cursor.compare(this.#tail) > 0)) {
      this.#tail = cursor
    }
    if (!this.#stale) this.#live = true
    if (page.events.length === 0) return undefined
    return page.json === undefined
      ? { events: page.events, live, after }
      : { events: page.events, json: page.json, live, after }
  }

  #sleep(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done)
        this.#waker = undefined
        resolve()
      }
      this.#waker = done
      signal?.addEventListener('abort', done, { once: true })
    })
  }

  #wake(): void {
    if (this.#waker === undefined) return
    // The feed is busy from the wake-up on, before its continuation even runs.
    this.#beginSpan()
    this.#waker()
  }

  #beginSpan(): void {
    if (this.#endSpan !== undefined) return
    let end = (): void => undefined
    this.#host.track(new Promise<void>((resolve) => (end = resolve)))
    this.#endSpan = () => {
      this.#endSpan = undefined
      end()
    }
  }
}

/** Receives the batches of a push-style subscription; awaited before the next (backpressure). */
export type FeedHandler = (batch: FeedBatch) => void | Promise<void>

/** Options of {@link pumpFeed}. */
export interface PumpOptions {
  /** Called once when the handler or a store read fails; the subscription has ended then. */
  readonly onError?: ((error: unknown) => void) | undefined
  /**
   * Re-read the store at least this often while idle, in ms (catches writes by others that no
   * `notify()` announced).
   * @defaultValue `Infinity`: only on wake-ups
   */
  readonly pollMs?: number | undefined
}

/**
 * Delivers a feed push-style: each batch to `handler`, awaited before the next.
 * @param feed - the feed, already begun.
 * @param handler - receives the batches.
 * @param options - error hook, poll interval.
 * @param track - lets the server's `idle()` wait for each delivery.
 * @returns the subscription; `unsubscribe` ends the feed.
 */
export function pumpFeed(
  feed: Feed,
  handler: FeedHandler,
  options: PumpOptions,
  track: (work: Promise<unknown>) => void,
): Subscription {
  const waitMs = options.pollMs ?? Infinity
  const run = async (): Promise<void> => {
    try {
      for (;;) {
        const batch = await feed.next({ waitMs })
        if (batch === undefined) return
        if (batch.events.length === 0) continue
        const delivery = Promise.resolve(handler(batch))
        track(delivery)
        await delivery
      }
    } catch (error) {
      if (feed.ended) return
      feed.close()
      try {
        options.onError?.(error)
      } catch {
        // A notification hook: its own failure must not break anything else.
      }
    }
  }
  void run()
  return {
    unsubscribe: () => {
      feed.close()
      return Promise.resolve()
    },
  }
}
