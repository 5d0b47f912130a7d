import { compileFilters, validateLimit } from '../core/filters.js'
import { resolveTimers } from '../core/timers.js'
import { signalOptions } from '../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type {
  Clock,
  Event,
  EventStore,
  EventWithVersion,
  Filter,
  SignalOptions,
  StoreResult,
  StoreWatchOptions,
  Subscription,
  Timers,
  Version,
} from '../types/index.js'
import { Feed, pumpFeed } from './feed.js'
import type { FeedHandler, FeedHost } from './feed.js'
import { readPage } from './page.js'
import type { LogPage } from './page.js'
import type { AccessPolicy, CheckPushOptions } from './access.js'
import { validateEvent } from '../core/event-validation.js'
import type { ValidateEventOptions } from '../core/event-validation.js'
import { WorkTracker } from './work.js'
import { allAtOnce, oneAtATime } from './push-turns.js'
import type { PushTurns, PushTurnsFactory, QueuedPush } from './push-turns.js'
import { createMemoryStore } from '../stores/memory/index.js'

/** Options of {@link createSyncServer}. */
export interface SyncServerOptions {
  /**
   * The log. The server never closes it: its owner does.
   * @defaultValue a new memory store (`createMemoryStore()`), for the loopback hub
   */
  readonly store?: EventStore | undefined
  /**
   * The epoch (see `PullResult.epoch`): a fixed one, or a function that loads it, called once
   * (again after a failure), e.g. `() => loadOrCreateEpoch(store, generate, component)`, which
   * keeps it in the store.
   */
  readonly epoch: string | (() => Promise<string>)
  /**
   * What principals may push and read, and the page limits (see `createAccessPolicy`).
   * @defaultValue none: any valid push is admitted, pages are as large as asked, and calls naming
   * a tenant are refused
   */
  readonly access?: AccessPolicy
  /**
   * True when (nearly) every write to the store goes through this server — the loopback hub's
   * own log, one `sync-kit serve` on a SQLite file: pushes are stored one after the other, and a
   * caught-up feed takes a push's events as they are instead of re-reading the store. Safe when
   * others write too: after each push the server checks that its events directly follow the head
   * it left (one indexed read), and feeds re-read the store when they do not; the store's `watch`
   * still announces what others store in between, and an idle feed re-reads the store whenever
   * its `waitMs` (a heartbeat) passes. False (several busy servers on one database): pushes run
   * concurrently and every feed re-reads the store after its cursor on every wake-up.
   * @defaultValue false
   */
  readonly soleWriter?: boolean
  /**
   * With a sole writer: group commit, from `groupCommit()` (an import, so that apps that do not
   * use it do not ship it). The pushes of requests read in the same pass of the event loop (e.g.
   * those that came while the last commit held it) are stored in one `storeBatch` — one
   * transaction and one `fsync` on SQLite, where better-sqlite3 holds the event loop through
   * every commit. Each push is still answered only after its commit, with its own counts; a push
   * that fails the group is retried alone. The HTTP handler's `groupCommit: true` passes it;
   * `sync-kit serve` turns it on for SQLite. Ignored without `soleWriter`.
   * @defaultValue none: one store call per push, each turn starting with no pass of the event
   * loop (as a `TestClock`-driven test of the loopback hub expects)
   */
  readonly groupCommit?: PushTurnsFactory | undefined
  /**
   * Live delivery of what other processes store, when the store offers the `watch` capability
   * (`EventStore.watch`: a store shared by several server instances, such as the PostgreSQL
   * store): the server watches the store from its first feed on and
   * calls {@link SyncServer.notify} at every wake-up. `false` turns it off (feeds then find such
   * events only when they re-read for another reason); an object is passed to `watch` (its
   * fallback poll, reconnect backoff, timers).
   * @defaultValue true
   */
  readonly watch?: boolean | StoreWatchOptions | undefined
  /** Time source; a `TestClock` also gives its timers. @defaultValue `Date.now` */
  readonly clock?: Clock
  /** Timers for the waits of feeds. @defaultValue the clock's, else the globals */
  readonly timers?: Timers
  /**
   * Names the adapter in messages, `[sync-kit] [<component>] …`.
   * @defaultValue `'server'`
   */
  readonly component?: string
}

/**
 * A push that passed {@link SyncServer.checkPush}: validated, normalised copies of its events,
 * ready for {@link SyncServer.push}.
 */
export class CheckedPush {
  /** The events to store, in order. */
  readonly events: readonly Event[]

  /**
   * Made by `checkPush` only.
   * @param events - the checked events.
   */
  constructor(events: readonly Event[]) {
    this.events = events
  }
}

/** Options of {@link SyncServer.push}. */
export interface ServerPushOptions extends SignalOptions {
  /** Store only while the epoch is this one (see `PushOptions.ifEpoch`). */
  readonly ifEpoch?: string | undefined
}

/** The outcome of {@link SyncServer.push}. */
export interface ServerPushResult {
  /** Events stored for the first time. */
  readonly stored: number
  /** Events already held (same id, same content). */
  readonly duplicates: number
  /** The epoch the push was stored under. */
  readonly epoch: string
  /** The newest version after the push. */
  readonly latestVersion: Version
}

/** Options of {@link SyncServer.pull}. */
export interface ServerPullOptions extends SignalOptions {
  /** Page size, clamped to the policy's `maxPageLimit`. @defaultValue the policy's `pageLimit`, else no limit */
  readonly limit?: number | undefined
  /** Filters, as in `Filter`. */
  readonly filters?: readonly Filter[] | undefined
  /** The principal's tenant: the read is confined to it. */
  readonly tenant?: string | undefined
}

/** One page of a pull, with the epoch. */
export interface ServerPage extends LogPage {
  /** The epoch of the log the page was read from. */
  readonly epoch: string
}

/** The head of the log. */
export interface ServerHead {
  /** The newest version; the zero version while empty. */
  readonly latestVersion: Version
  /** The epoch. */
  readonly epoch: string
}

/** Options of {@link SyncServer.openFeed}. */
export interface FeedOptions extends SignalOptions {
  /** Replay the stored events after this version first; `null` or absent: only new events. */
  readonly since?: Version | null | undefined
  /** Filters, as in `Filter`. */
  readonly filters?: readonly Filter[] | undefined
  /** The principal's tenant: the feed is confined to it. */
  readonly tenant?: string | undefined
  /** Most events per batch read from the store. @defaultValue the policy's `maxPageLimit`, else no limit */
  readonly limit?: number | undefined
}

/** Options of {@link SyncServer.subscribe}. */
export interface ServerSubscribeOptions extends FeedOptions {
  /** Called once when the handler or a store read fails; the subscription has ended then. */
  readonly onError?: ((error: unknown) => void) | undefined
  /** Re-read the store at least this often while idle, in ms. @defaultValue `Infinity` */
  readonly pollMs?: number | undefined
}

/**
 * The one implementation of what a remote does, under every wire (the loopback hub, the HTTP
 * handler, and next WebSocket): the epoch, admitting and storing pushes, pull pages, the head,
 * and live feeds. A wire maps its messages onto these calls and adds only its own concerns
 * (routing, auth, framing, limits of its own).
 */
export interface SyncServer {
  /** The log. */
  readonly store: EventStore
  /**
   * The epoch: the fixed one, or the one the `epoch` option's function loads. Concurrent first
   * calls share one load; a failed load is retried by the next call.
   * @returns the epoch.
   * @throws SyncKitError whatever the store throws (`unavailable` when it cannot be written).
   */
  epoch(): Promise<string>
  /**
   * Admits a push: batch limit, each event's wire check and `validateEvent`, tenant rules, clock
   * drift, event size. Synchronous, so a wire can refuse a push before it goes further.
   * @param events - the pushed items.
   * @param options - the principal's tenant, the wire's own check.
   * @returns the checked push, for {@link SyncServer.push}.
   * @throws SyncKitError `payload-too-large`, `invalid-event` (with `eventId`, `field`),
   * `clock-drift` (with `eventId`; the policy's drift bound), `forbidden`, `invalid-argument`.
   */
  checkPush(events: readonly unknown[], options?: CheckPushOptions): CheckedPush
  /**
   * Stores a checked push: checks `ifEpoch`, stores idempotently, then hands the new events to
   * every feed. With a sole writer, pushes take turns (the server's write lock), so that feeds
   * are handed versions in order, and the pushes that wait for the same turn are stored together
   * (see {@link SyncServerOptions.groupCommit}): one `storeBatch` for all of them, each answered
   * after it, with its own counts. A group's store call that fails is retried
   * one push at a time, so a bad push fails alone. Otherwise pushes run concurrently (feeds
   * re-read the store, which orders them), so that a store can merge them (the PostgreSQL
   * store's group commit).
   * @param push - from {@link SyncServer.checkPush}.
   * @param options - `ifEpoch`, cancellation.
   * @returns stored and duplicate counts, the epoch and the new head.
   * @throws SyncKitError `epoch-mismatch` (nothing stored), `event-id-conflict`, and whatever the
   * store throws.
   */
  push(push: CheckedPush, options?: ServerPushOptions): Promise<ServerPushResult>
  /**
   * Reads one page after `since`, within the page's count and byte budget.
   * @param since - a version of this log, or `null` for the beginning.
   * @param options - limit, filters, tenant, cancellation.
   * @returns the page (with each event's wire JSON under a byte budget), `hasMore`, the epoch.
   * @throws SyncKitError `invalid-argument`, `forbidden`, `unsupported-filter`, and whatever the
   * store throws.
   */
  pull(since: Version | null, options?: ServerPullOptions): Promise<ServerPage>
  /**
   * The head of the log.
   * @param options - cancellation.
   * @returns the latest version and the epoch.
   */
  latestVersion(options?: SignalOptions): Promise<ServerHead>
  /**
   * Parses a version of this log.
   * @param value - the string form.
   * @returns the version.
   * @throws SyncKitError `version-parse`.
   */
  parseVersion(value: string): Version
  /**
   * Opens a pull-style feed (see {@link Feed}), registered before anything is read.
   * @param options - starting cursor, filters, tenant, batch size, cancellation (of the head read
   * for a feed of new events only).
   * @returns the feed.
   * @throws SyncKitError `closed` after `close()`, `forbidden`, `unsupported-filter`,
   * `invalid-argument`.
   */
  openFeed(options?: FeedOptions): Promise<Feed>
  /**
   * A push-style subscription over a feed: each batch to `handler`, awaited before the next.
   * @param handler - receives the batches.
   * @param options - as {@link SyncServer.openFeed}, plus `onError` and `pollMs`.
   * @returns the subscription.
   * @throws SyncKitError as {@link SyncServer.openFeed}.
   */
  subscribe(handler: FeedHandler, options?: ServerSubscribeOptions): Promise<Subscription>
  /**
   * Wakes every feed to re-read the store: call it after others wrote to the store (another
   * process, a database notification). A store with the `watch` capability calls it by itself
   * (see {@link SyncServerOptions.watch}).
   */
  notify(): void
  /** Resolves once no push, feed read or delivery of this server is in flight. */
  idle(): Promise<void>
  /**
   * Stops live delivery: ends every feed and refuses new ones (`closed`), stops watching the
   * store, then waits for the pushes in flight. Pushes, pulls and head reads keep working, so
   * requests in flight finish during a graceful shutdown; the store stays open. Idempotent.
   */
  close(): Promise<void>
}

/**
 * Creates the server core over a store.
 * @param options - the store, epoch, limits, tenant rule, timers; see {@link SyncServerOptions}.
 * @returns the server.
 * @throws SyncKitError `invalid-argument` for a bad option.
 */
export function createSyncServer(options: SyncServerOptions): SyncServer {
  return new Server(options)
}

const FROZEN: ValidateEventOptions = { freeze: true }

class Server implements SyncServer, FeedHost {
  readonly store: EventStore
  readonly soleWriter: boolean
  readonly timers: Timers
  readonly #component: string
  readonly #access: AccessPolicy | undefined
  readonly #loadEpoch: () => Promise<string>
  #epoch: Promise<string> | undefined
  readonly #feeds = new Set<Feed>()
  readonly #work = new WorkTracker()
  /**
   * The pushes: a sole writer's one turn (one store call) at a time, else all at once (a store
   * can merge them: the PostgreSQL store's group commit); `close()` awaits them.
   */
  readonly #turns: PushTurns
  /** Options for the store's `watch` (several processes on one store), or none. */
  readonly #watch: StoreWatchOptions | undefined
  /** Stops watching the store, once watching. */
  #unwatch: (() => Promise<void>) | undefined
  /** A sole writer's head after its last push: where its next push's events must follow. */
  #head: Version | undefined
  /** True during the synchronous part of this server's own `storeBatch` call (`#storeAll`). */
  #writing = false
  #closed = false

  constructor(options: SyncServerOptions) {
    const component = options.component ?? 'server'
    this.#component = component
    this.store = options.store ?? createMemoryStore()
    this.soleWriter = options.soleWriter === true
    this.#turns = (this.soleWriter ? (options.groupCommit ?? oneAtATime) : allAtOnce)(
      (group) => this.#store(group),
      this.store.storeBatch !== undefined,
    )
    this.timers = resolveTimers(options.timers, options.clock, component)
    this.#access = options.access
    const watch = options.watch ?? true
    this.#watch = watch === false ? undefined : watch === true ? {} : watch
    const epoch = options.epoch
    if (typeof epoch === 'function') this.#loadEpoch = epoch
    else if (typeof epoch === 'string' && epoch !== '')
      this.#loadEpoch = () => Promise.resolve(epoch)
    else {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${component}] option epoch must be a non-empty string or a function`,
        { argument: 'epoch' },
      )
    }
  }

  epoch(): Promise<string> {
    this.#epoch ??= this.#loadEpoch().catch((error: unknown) => {
      this.#epoch = undefined
      throw error
    })
    return this.#epoch
  }

  checkPush(events: readonly unknown[], options: CheckPushOptions = {}): CheckedPush {
    const component = this.#component
    if (!Array.isArray(events)) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${component}] push takes an array of events`,
        {
          argument: 'events',
        },
      )
    }
    const access = this.#access
    if (access !== undefined) return new CheckedPush(access.admit(events, options, component))
    this.#scope([], options.tenant)
    const { parse } = options
    // Deep-frozen copies: a sole writer hands these very events to every feed, and a store
    // takes them as they are (they cannot change any more).
    return new CheckedPush(
      events.map((item: unknown, index) =>
        validateEvent(parse === undefined ? item : parse(item, index), component, FROZEN),
      ),
    )
  }

  push(push: CheckedPush, options: ServerPushOptions = {}): Promise<ServerPushResult> {
    const run = this.#turns.push({ push, options })
    this.track(run)
    return run
  }

  async pull(since: Version | null, options: ServerPullOptions = {}): Promise<ServerPage> {
    const access = this.#access
    const asked = validateLimit(options.limit, this.#component)
    const limit =
      access === undefined
        ? (asked ?? Infinity)
        : Math.min(asked ?? access.pageLimit, access.maxPageLimit)
    const filters = this.#scope(options.filters ?? [], options.tenant)
    const epoch = await this.epoch()
    const { signal } = options
    const page = await readPage(this.store, since, {
      limit,
      maxBytes: access?.maxPageBytes ?? Infinity,
      filters,
      signal,
    })
    return { ...page, epoch }
  }

  async latestVersion(options: SignalOptions = {}): Promise<ServerHead> {
    const [epoch, latestVersion] = await Promise.all([
      this.epoch(),
      this.store.latestVersion(options),
    ])
    return { latestVersion, epoch }
  }

  parseVersion(value: string): Version {
    return this.store.parseVersion(value)
  }

  async openFeed(options: FeedOptions = {}): Promise<Feed> {
    const component = this.#component
    if (this.#closed) {
      throw new SyncKitError('closed', `[sync-kit] [${component}] the server was closed`, {})
    }
    const filters = this.#scope(options.filters ?? [], options.tenant)
    const matches = compileFilters(filters, component)
    const access = this.#access
    const max = access?.maxPageLimit ?? Infinity
    const limit = Math.min(validateLimit(options.limit, component) ?? max, max)
    const feed = new Feed(this, {
      filters,
      matches,
      limit,
      maxBytes: access?.maxPageBytes ?? Infinity,
    })
    // Registered before anything is read: no push can slip between the read and the hand-over.
    this.#feeds.add(feed)
    // A store several processes share wakes the feeds for what the others store.
    if (this.#watch !== undefined && this.#unwatch === undefined) {
      try {
        this.#unwatch = this.store.watch?.(() => {
          if (!this.#writing) this.notify()
        }, this.#watch)
      } catch (error) {
        // A closed store fails its feeds' reads anyway; the next feed tries again.
        if (!isSyncKitError(error, 'closed')) throw error
      }
    }
    const { signal } = options
    const since = options.since ?? null
    try {
      feed.begin(since ?? (await this.store.latestVersion(signalOptions(signal))), since !== null)
    } catch (error) {
      feed.close()
      throw error
    }
    return feed
  }

  async subscribe(
    handler: FeedHandler,
    options: ServerSubscribeOptions = {},
  ): Promise<Subscription> {
    const feed = await this.openFeed(options)
    return pumpFeed(feed, handler, options, (work) => this.track(work))
  }

  notify(): void {
    for (const feed of [...this.#feeds]) feed.notify()
  }

  idle(): Promise<void> {
    return this.#work.idle()
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const feed of [...this.#feeds]) feed.close()
    const unwatch = this.#unwatch
    this.#unwatch = undefined
    await unwatch?.().catch(() => undefined)
    await this.#turns.settled()
  }

  track(work: Promise<unknown>): void {
    this.#work.track(work)
  }

  detach(feed: Feed): void {
    this.#feeds.delete(feed)
  }

  /** Confines a read to a tenant, which needs an access policy. */
  #scope(filters: readonly Filter[], tenant: string | undefined): readonly Filter[] {
    const access = this.#access
    if (access !== undefined) return access.scope(filters, tenant, this.#component)
    if (tenant !== undefined) {
      throw new SyncKitError(
        'internal',
        `[sync-kit] [${this.#component}] tenants need an access policy (createAccessPolicy)`,
        {},
      )
    }
    return filters
  }

  /**
   * Stores a batch idempotently: in one atomic `storeBatch` when the store has it, else one
   * `store` per event (then a later conflict cannot undo earlier events).
   */
  async #storeAll(events: readonly Event[], options: SignalOptions): Promise<StoreResult[]> {
    try {
      if (this.store.storeBatch !== undefined) {
        // A store that learns of appends in-process (memory, SQLite, IndexedDB) wakes its
        // watchers synchronously inside this call: that wake-up is this very write, which
        // `#store` offers the feeds itself, so it must not mark them stale a second time (a
        // second read per feed and push). Later wake-ups (a database notification, another
        // writer on the same object) still notify.
        this.#writing = true
        const stored = this.store.storeBatch(events, options)
        this.#writing = false
        return await stored
      }
      const results: StoreResult[] = []
      for (const event of events) results.push(await this.store.store(event, options))
      return results
    } catch (error) {
      this.#writing = false
      throw this.#access === undefined
        ? error
        : this.#access.storeError(error, events, this.#component)
    }
  }

  /**
   * Stores pushes in one store call (one commit) and hands their new events to the feeds at once.
   * @param group - one push, or a sole writer's waiting pushes (then without a signal: one caller's
   * cancellation must not undo the others' commit; one aborted before its turn goes alone).
   * @returns each push's result, in order.
   * @throws when the epoch, the store or a push fails: the caller retries a group one by one.
   */
  async #store(group: readonly QueuedPush[]): Promise<ServerPushResult[]> {
    const component = this.#component
    const epoch = await this.epoch()
    const events: Event[] = []
    for (const { push, options } of group) {
      if (!(push instanceof CheckedPush)) {
        throw new SyncKitError(
          'invalid-argument',
          `[sync-kit] [${component}] push takes the result of checkPush`,
          { argument: 'push' },
        )
      }
      const { ifEpoch } = options
      if (ifEpoch !== undefined && ifEpoch !== epoch) {
        throw new SyncKitError(
          'epoch-mismatch',
          `[sync-kit] [${component}] the push expected epoch "${ifEpoch.slice(0, 100)}" but this server's log is "${epoch}" (it was replaced); nothing was stored: re-send from the start`,
          { expected: ifEpoch.slice(0, 1024), actual: epoch },
        )
      }
      for (const event of push.events) events.push(event)
    }
    // One push keeps its signal; a group has none: one caller's cancellation must not undo the
    // others' commit.
    const opts = group.length === 1 ? signalOptions((group[0] as QueuedPush).options.signal) : {}
    // A sole writer hands its batches to the feeds as they are: only where they directly follow
    // the head its last push left (nobody else wrote in between), or a feed would skip events.
    const before = this.#head
    const results = events.length > 0 ? await this.#storeAll(events, opts) : []
    // Each push's new events, offered to the feeds push by push as without group commit: a live
    // batch stays within one push's limits, which a socket's send bound is sized for.
    let at = 0
    const parts = group.map(({ push }) => {
      const part: EventWithVersion[] = []
      for (const event of push.events) {
        const result = results[at++] as StoreResult
        if (!result.duplicate) part.push({ event, version: result.version })
      }
      return part
    })
    const fresh = parts.flat()
    if (fresh.length > 0) {
      // One `storeBatch` keeps its events consecutive: the first must follow the head. Stored
      // one at a time, another process may write between two of them: the push's n events must
      // be the n after the head, i.e. its last must be the n-th (all came after the head).
      const n = this.store.storeBatch ? 1 : fresh.length
      const next = before && (await this.store.load(before, { limit: n, ...opts }))
      // Without `after`, feeds read the store. Each push's part follows it with nothing between
      // but the parts offered just before it.
      const after = next && next[n - 1]?.event.id === fresh[n - 1]?.event.id ? before : undefined
      for (const part of parts) for (const feed of [...this.#feeds]) feed.offer(part, after)
    }
    const latestVersion = await this.store.latestVersion(opts)
    if (this.soleWriter) this.#head = latestVersion
    return parts.map((part, k) => ({
      stored: part.length,
      duplicates: (group[k] as QueuedPush).push.events.length - part.length,
      epoch,
      latestVersion,
    }))
  }
}
