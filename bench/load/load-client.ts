/**
 * One client of the load test: a live `SyncManager` (`features: [liveMode()]`, `start()`) with its own memory
 * store and an HTTP transport to one server instance, both wrapped so that the client can measure
 * without changing what the manager sees:
 *
 * - the **transport** wrapper times each `push` and `pull` call, and on each successful push
 *   takes, for every event of this client it carries for the first time, the time from `record()`
 *   (the event's `data.recordedAt`) to now: record → ack;
 * - the **store** wrapper sees every event stored for the first time (the `store` and
 *   `storeBatch` results that are not duplicates): it counts the client's events (settling) and,
 *   for an event another client recorded, takes the time from its `record()` to now: live
 *   delivery (the event is in this client's store).
 *
 * The client records on a paced, jittered schedule, as a live app does: `liveMode()` pushes each
 * record (one shared push run for the records made while one waits) and its stream brings the
 * others' events. (It used to call `sync()` after each `record()`: at 100 clients those syncs'
 * pulls fetched 1.37 M events the stream was delivering too.)
 *
 * @module
 */
import { SyncManager, createMemoryStore, liveMode } from '../../src/index.js'
import type { Event, EventStore, StoreResult, Transport } from '../../src/index.js'
import { createHttpTransport } from '../../src/transports/http/index.js'
import type { Histogram } from './histogram.js'
import { wallNow } from './worker-protocol.js'

/** The measurements every client of a worker adds to. */
export interface ClientMetrics {
  readonly pushRoundTrip: Histogram
  readonly pullRoundTrip: Histogram
  readonly recordToAck: Histogram
  readonly liveDelivery: Histogram
  readonly pacingLag: Histogram
  /** End of the writing window (acks after it do not count for the rate held). */
  windowEnd: number
  ackedInWindow: number
  acked: number
  pushCalls: number
  pushFailures: number
  pushedEvents: number
  pullCalls: number
  pulledEvents: number
  pulledNew: number
  conflicts: number
  errors: number
  readonly errorMessages: string[]
  /** Called whenever a client stores an event new to it. */
  onNewEvent: (client: LoadClient) => void
}

/** How long a stopping client's sync in flight may take before its transport is closed. */
const STOP_GRACE_MS = 5_000

/** How many error messages a worker keeps. */
const KEPT_ERRORS = 5

/** The event a load client records. */
export interface LoadEventData {
  /** A field per sequence number modulo 4, so edits overlap and some do not. */
  readonly [field: `f${number}`]: number
  /** Wall-clock time of the `record()` call, ms (see `wallNow`). */
  readonly recordedAt: number
}

/** Options of a {@link LoadClient}. */
export interface LoadClientOptions {
  readonly nodeId: string
  readonly url: string
  readonly aggregates: readonly string[]
  readonly metrics: ClientMetrics
}

/** One live client. */
export class LoadClient {
  readonly nodeId: string
  /** Distinct events in the store. */
  count = 0
  /** When the newest of them was stored (wall ms). */
  lastNewAt = 0
  readonly store: EventStore
  readonly #transport: Transport
  readonly #manager: SyncManager
  readonly #metrics: ClientMetrics
  readonly #aggregates: readonly string[]
  readonly #acked = new Set<string>()
  #subscribed: () => void = () => undefined
  /** Resolves once the live stream is established. */
  readonly subscribed: Promise<void>
  #seq = 0
  #stopping = false

  constructor(options: LoadClientOptions) {
    this.nodeId = options.nodeId
    this.subscribed = new Promise<void>((resolve) => (this.#subscribed = resolve))
    this.#metrics = options.metrics
    this.#aggregates = options.aggregates
    this.store = tapStore(createMemoryStore(), (events, results) => this.#stored(events, results))
    this.#transport = this.#tapTransport(createHttpTransport({ url: options.url }))
    this.#manager = new SyncManager({
      store: this.store,
      transport: this.#transport,
      nodeId: options.nodeId,
      features: [liveMode()],
      generateId: () => `${options.nodeId}.${this.#seq}`,
    })
    this.#manager.on('conflict', () => this.#metrics.conflicts++)
    this.#manager.on('error', (error) => this.#error(error))
  }

  /** Starts background and live sync. */
  start(): void {
    this.#manager.start()
  }

  /**
   * Records events from `startAt` until `endAt` at `rate` per second: one per period, each moved
   * by a random ±25 % of the period (so clients do not fire together and no client bursts).
   * @param startAt - wall ms of the window's start.
   * @param endAt - wall ms of its end (no event is scheduled at or after it).
   * @param rate - events per second.
   * @returns the ids recorded, and the number of `record()` calls that threw.
   */
  async write(
    startAt: number,
    endAt: number,
    rate: number,
  ): Promise<{ ids: string[]; failures: number }> {
    const period = 1000 / rate
    const phase = Math.random() * period
    const ids: string[] = []
    let failures = 0
    for (let k = 0; ; k++) {
      const due = Math.max(
        startAt,
        startAt + phase + k * period + (Math.random() - 0.5) * 0.5 * period,
      )
      if (due >= endAt) break
      const wait = due - wallNow()
      // Whole milliseconds, rounded up: a timer never fires before its (integer) delay.
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)))
      const recordedAt = wallNow()
      this.#metrics.pacingLag.record(recordedAt - due)
      const seq = this.#seq
      const data: LoadEventData = { [`f${seq % 4}`]: seq, recordedAt }
      try {
        const { event } = await this.#manager.record({
          type: 'Edited',
          aggregateId: this.#aggregates[
            Math.floor(Math.random() * this.#aggregates.length)
          ] as string,
          data,
        })
        ids.push(event.id)
      } catch (error) {
        failures++
        this.#error(error)
      }
      this.#seq++
    }
    return { ids, failures }
  }

  /** Stops the manager (waiting for its sync in flight) and closes the transport. */
  async stop(): Promise<void> {
    this.#stopping = true
    // A client far behind may be in a long sync (page after page): after a grace period the
    // transport is closed under it, which ends the sync with an error (not counted: the run is
    // over and the logs are compared as they are).
    let timer: ReturnType<typeof setTimeout> | undefined
    const stopped = this.#manager.close()
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        void this.#transport.close()
        resolve()
      }, STOP_GRACE_MS)
    })
    await Promise.race([stopped, cut])
    clearTimeout(timer)
    await stopped
    await this.#transport.close()
  }

  /** @returns every event in the client's store. */
  async events(): Promise<Event[]> {
    const all: Event[] = []
    for (let since = null as Parameters<EventStore['load']>[0]; ;) {
      const page = await this.store.load(since, { limit: 5_000 })
      if (page.length === 0) return all
      for (const item of page) all.push(item.event)
      since = (page.at(-1) as (typeof page)[number]).version
    }
  }

  #error(error: unknown): void {
    if (this.#stopping) return
    this.#metrics.errors++
    if (this.#metrics.errorMessages.length < KEPT_ERRORS) {
      this.#metrics.errorMessages.push(
        `${this.nodeId}: ${error instanceof Error ? error.message : String(error)}`,
      )
    }
  }

  #stored(events: readonly Event[], results: readonly StoreResult[]): void {
    const now = wallNow()
    const m = this.#metrics
    let added = 0
    events.forEach((event, i) => {
      if (results[i]?.duplicate !== false) return
      added++
      if (event.metadata?.['origin'] === this.nodeId) return
      m.pulledNew++
      const recordedAt = (event.data as Partial<LoadEventData> | null)?.recordedAt
      if (typeof recordedAt === 'number') m.liveDelivery.record(now - recordedAt)
    })
    if (added === 0) return
    this.count += added
    this.lastNewAt = now
    m.onNewEvent(this)
  }

  #tapTransport(inner: Transport): Transport {
    const m = this.#metrics
    const tapped: Transport = {
      push: async (events, options) => {
        const started = performance.now()
        let result
        try {
          result = await inner.push(events, options)
        } catch (error) {
          m.pushFailures++
          throw error
        }
        const now = wallNow()
        m.pushRoundTrip.record(performance.now() - started)
        m.pushCalls++
        m.pushedEvents += events.length
        for (const event of events) {
          if (event.metadata?.['origin'] !== this.nodeId || this.#acked.has(event.id)) continue
          this.#acked.add(event.id)
          const recordedAt = (event.data as Partial<LoadEventData> | null)?.recordedAt
          if (typeof recordedAt !== 'number') continue
          m.recordToAck.record(now - recordedAt)
          m.acked++
          if (now <= m.windowEnd) m.ackedInWindow++
        }
        return result
      },
      pull: async (since, options) => {
        const started = performance.now()
        const page = await inner.pull(since, options)
        m.pullRoundTrip.record(performance.now() - started)
        m.pullCalls++
        m.pulledEvents += page.events.length
        return page
      },
      latestVersion: (options) => inner.latestVersion(options),
      parseVersion: (value) => inner.parseVersion(value),
      close: () => inner.close(),
    }
    const subscribe = inner.subscribe?.bind(inner)
    if (subscribe === undefined) return tapped
    return {
      ...tapped,
      subscribe: async (handler, options) => {
        const subscription = await subscribe(handler, options)
        this.#subscribed()
        return subscription
      },
    }
  }
}

/**
 * Wraps a store so that `onStored` sees every `store` and `storeBatch` call's events and results;
 * every other member (optional capabilities included) is the store's own, so the manager detects
 * the same capabilities.
 */
function tapStore(
  inner: EventStore,
  onStored: (events: readonly Event[], results: readonly StoreResult[]) => void,
): EventStore {
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'store') {
        return async (event: Event, options?: Parameters<EventStore['store']>[1]) => {
          const result = await target.store(event, options)
          onStored([event], [result])
          return result
        }
      }
      if (key === 'storeBatch' && target.storeBatch !== undefined) {
        const storeBatch = target.storeBatch.bind(target)
        return async (events: readonly Event[], options?: Parameters<typeof storeBatch>[1]) => {
          const results = await storeBatch(events, options)
          onStored(events, results)
          return results
        }
      }
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value
    },
  })
}
