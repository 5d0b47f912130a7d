import { backoffDelay, resolveBackoff, type ResolvedBackoff } from '../../core/backoff.js'
import { integerOption } from '../../core/options.js'
import { resolveTimers } from '../../core/timers.js'
import type { Timers } from '../../types/index.js'
import type {
  PostgresNotification,
  PostgresPool,
  PostgresPoolClient,
  PostgresWatchOptions,
} from './postgres-types.js'

/** Default `pollIntervalMs` of `watch`: 5000 ms. */
const DEFAULT_POLL_INTERVAL_MS = 5000

/** Default `backoff` of `watch`: 100 ms, doubling up to 10 s. */
const DEFAULT_WATCH_BACKOFF: ResolvedBackoff = { initialMs: 100, maxMs: 10_000 }

/**
 * Watches one log's channel: a connection of its own that `LISTEN`s, reconnects with backoff when
 * it breaks, and a fallback poll. See `PostgresStore.watch`.
 * @param pool - the pool to take the listening connection from.
 * @param channel - the channel (a plain identifier: letters, digits, `_`).
 * @param listener - the wake-up.
 * @param options - poll interval, backoff, timers.
 * @returns stops watching; resolves once the connection is closed.
 * @throws SyncKitError `invalid-argument` for bad options.
 */
export function watchChannel(
  pool: PostgresPool,
  channel: string,
  listener: (latest?: string) => void,
  options: PostgresWatchOptions | undefined,
): () => Promise<void> {
  const pollMs = integerOption(
    options?.pollIntervalMs,
    DEFAULT_POLL_INTERVAL_MS,
    'pollIntervalMs',
    'postgres',
  )
  const backoff = resolveBackoff(options?.backoff, DEFAULT_WATCH_BACKOFF, 'backoff', 'postgres')
  const timers = resolveTimers(options?.timers, undefined, 'postgres')
  const watcher = new Watcher(pool, channel, listener, pollMs, backoff, timers)
  watcher.start()
  return () => watcher.stop()
}

class Watcher {
  readonly #pool: PostgresPool
  readonly #channel: string
  readonly #listener: (latest?: string) => void
  readonly #pollMs: number
  readonly #backoff: ResolvedBackoff
  readonly #timers: Timers
  #stopped = false
  #attempt = 0
  #client: PostgresPoolClient | undefined
  #detach: (() => void) | undefined
  #pollTimer: unknown
  #retryTimer: unknown
  #connecting: Promise<void> = Promise.resolve()

  constructor(
    pool: PostgresPool,
    channel: string,
    listener: (latest?: string) => void,
    pollMs: number,
    backoff: ResolvedBackoff,
    timers: Timers,
  ) {
    this.#pool = pool
    this.#channel = channel
    this.#listener = listener
    this.#pollMs = pollMs
    this.#backoff = backoff
    this.#timers = timers
  }

  start(): void {
    this.#connecting = this.#connect()
    this.#schedulePoll()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#timers.clearTimeout(this.#pollTimer)
    this.#timers.clearTimeout(this.#retryTimer)
    await this.#connecting
    this.#dropConnection()
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return
    let client: PostgresPoolClient
    try {
      client = await this.#pool.connect()
    } catch {
      this.#retry()
      return
    }
    this.#client = client
    const onNotification = (message: PostgresNotification): void => {
      if (message.channel === this.#channel) this.#wake(message.payload)
    }
    const onLost = (): void => {
      if (this.#client !== client) return
      this.#dropConnection()
      this.#retry()
    }
    client.on?.('notification', onNotification)
    client.on?.('error', onLost)
    client.on?.('end', onLost)
    this.#detach = () => client.removeListener?.('error', onLost)
    try {
      await client.query(`LISTEN "${this.#channel}"`)
    } catch {
      onLost()
      return
    }
    if (this.#stopped || this.#client !== client) return
    this.#attempt = 0
    // Appends may have committed while nobody listened: wake once now.
    this.#wake(undefined)
  }

  #retry(): void {
    if (this.#stopped) return
    this.#attempt++
    const wait = backoffDelay(this.#attempt, this.#backoff, Math.random)
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#connecting = this.#connect()
    }, wait)
  }

  /** Closes the listening connection (never returned to the pool: it still `LISTEN`s). */
  #dropConnection(): void {
    const client = this.#client
    if (client === undefined) return
    this.#client = undefined
    this.#detach?.()
    // Keep an 'error' listener: a broken connection may still emit one while it closes.
    client.on?.('error', () => undefined)
    client.release(true)
  }

  #schedulePoll(): void {
    if (this.#stopped) return
    this.#pollTimer = this.#timers.setTimeout(() => {
      this.#wake(undefined)
      this.#schedulePoll()
    }, this.#pollMs)
  }

  #wake(latest: string | undefined): void {
    if (this.#stopped) return
    try {
      if (latest === undefined) this.#listener()
      else this.#listener(latest)
    } catch {
      // A wake-up listener's failure is its own; watching goes on.
    }
  }
}
