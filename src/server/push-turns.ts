/**
 * A sole writer's write turns and group commit: its pushes are stored one store call at a time
 * (so that feeds are handed versions in order), and the pushes that wait for the same turn go in
 * one call — one `storeBatch`, one transaction and one `fsync` on SQLite — each answered after
 * it with its own result. A group whose call fails is retried one push at a time, so a bad push
 * fails alone. The technique is the group commit of databases (e.g. PostgreSQL's `commit_delay`):
 * one durable write for the transactions that are ready together.
 *
 * @module
 */
import type { CheckedPush, ServerPushOptions, ServerPushResult } from './sync-server.js'

/** A push and its options, as `SyncServer.push` took them. */
export interface QueuedPush {
  readonly push: CheckedPush
  readonly options: ServerPushOptions
}

/** A push waiting for its turn. */
interface WaitingPush extends QueuedPush {
  readonly resolve: (result: ServerPushResult) => void
  readonly reject: (error: unknown) => void
}

/**
 * Most events one group commit stores: pushes waiting together beyond it go in the next store
 * call (a push larger than it still goes alone, whole).
 */
// eslint-disable-next-line @typescript-eslint/no-inferrable-types -- isolatedDeclarations asks for it
export const GROUP_MAX_EVENTS: number = 10_000

/** How {@link PushTurns} groups. */
export interface PushTurnOptions {
  /**
   * Whether a turn starts only after the I/O that already arrived was read (`setImmediate`
   * where there is one, else a zero timeout), so that the pushes of requests read in the same
   * pass of the event loop join it. Off, a turn takes the pushes waiting when it starts, with no
   * pass of the event loop.
   */
  readonly groupCommit: boolean
  /** Most events per store call, read at each turn (0: one push per call). */
  readonly maxGroupEvents: () => number
}

/** One turn after another; each stores the pushes waiting for it. */
export class PushTurns {
  readonly #store: (group: readonly QueuedPush[]) => Promise<ServerPushResult[]>
  readonly #options: PushTurnOptions
  #waiting: WaitingPush[] = []
  /** The turns so far, settled. */
  #turns: Promise<void> = Promise.resolve()

  /**
   * @param store - stores a group in one store call and hands its events to the feeds; returns
   * each push's result, in order; throws when any of it fails (the group is then retried one
   * push at a time).
   * @param options - group commit and the group bound.
   */
  constructor(
    store: (group: readonly QueuedPush[]) => Promise<ServerPushResult[]>,
    options: PushTurnOptions,
  ) {
    this.#store = store
    this.#options = options
  }

  /**
   * Queues a push for the next turn, booking it when none is booked.
   * @param item - the push and its options.
   * @returns its result, once the call that stored it returned.
   */
  push(item: QueuedPush): Promise<ServerPushResult> {
    const run = new Promise<ServerPushResult>((resolve, reject) =>
      this.#waiting.push({ ...item, resolve, reject }),
    )
    if (this.#waiting.length === 1) {
      // The first to wait books the next turn; those that come before it starts join it.
      this.#turns = this.#turns
        .then(this.#options.groupCommit ? afterPendingIo : undefined)
        .then(() => this.#take())
        .catch(() => undefined)
    }
    return run
  }

  /** @returns when every push queued so far has been answered. */
  settled(): Promise<void> {
    return this.#turns
  }

  /** Stores the waiting pushes, in groups within the bound. */
  async #take(): Promise<void> {
    const waiting = this.#waiting
    this.#waiting = []
    const max = this.#options.maxGroupEvents()
    for (let i = 0; i < waiting.length;) {
      let events = 0
      let end = i
      do events += (waiting[end++] as WaitingPush).push.events.length
      while (
        end < waiting.length &&
        events + (waiting[end] as WaitingPush).push.events.length <= max
      )
      const group = waiting.slice(i, end)
      i = end
      try {
        const results = await this.#store(group)
        group.forEach((item, k) => item.resolve(results[k] as ServerPushResult))
      } catch (error) {
        if (group.length === 1) {
          ;(group[0] as WaitingPush).reject(error)
          continue
        }
        // One push may have failed the group's store call (an id conflict, a stale epoch, a
        // store refusal): each alone, in order, so that only those that fail by themselves fail.
        for (const item of group) {
          await this.#store([item]).then(
            (results) => item.resolve(results[0] as ServerPushResult),
            item.reject,
          )
        }
      }
    }
  }
}

/**
 * Resolves after the I/O that has already arrived was read: a turn's yield, not a wait a test
 * clock should drive (so not the component's `timers`).
 */
function afterPendingIo(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate
  return new Promise((resolve) =>
    immediate === undefined ? setTimeout(resolve, 0) : immediate(resolve),
  )
}
