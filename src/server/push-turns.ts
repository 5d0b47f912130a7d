/**
 * A sole writer's group commit, reached through its import (`groupCommit()` of the server core,
 * `src/server/`, internal to the package; the public way is the HTTP handler's option, which the HTTP handler's `groupCommit: true` and `sync-kit serve` on SQLite
 * use): the pushes are still stored one store call at a time (so that feeds are handed versions
 * in order), but the pushes whose requests were read in the same pass of the event loop go in
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

/**
 * Stores a group of pushes in one store call and hands their events to the feeds; returns each
 * push's result, in order; throws when any of it fails.
 */
export type StoreGroup = (group: readonly QueuedPush[]) => Promise<ServerPushResult[]>

/** A sole writer's turns: one store call at a time. */
export interface PushTurns {
  /**
   * Queues a push for a turn.
   * @param item - the push and its options.
   * @returns its result, once the call that stored it returned.
   */
  push(item: QueuedPush): Promise<ServerPushResult>
  /** @returns when every push queued so far has been answered (with no value to use). */
  settled(): Promise<unknown>
}

/**
 * Makes a server's turns: `SyncServerOptions.groupCommit` takes one.
 * @param store - stores a group (see {@link StoreGroup}).
 * @param atomic - whether one store call is atomic (the store has `storeBatch`): only then are
 * pushes grouped (stored one event at a time, a failed group would leave some events stored and
 * the retry would count them as duplicates of their own push).
 * @returns the turns.
 */
export type PushTurnsFactory = (store: StoreGroup, atomic: boolean) => PushTurns

/**
 * A sole writer's turns without group commit (the default): one push per store call, in order,
 * each turn starting with no pass of the event loop (as a `TestClock`-driven test of the loopback
 * hub expects).
 */
export const oneAtATime: PushTurnsFactory = (store) => {
  let turns: Promise<unknown> = Promise.resolve()
  return {
    push(item) {
      const run = turns.then(() => store([item])).then((results) => results[0] as ServerPushResult)
      turns = run.catch(() => undefined)
      return run
    },
    settled: () => turns,
  }
}

/**
 * The pushes of a server that is not the sole writer: each stored at once, concurrently with the
 * others (feeds re-read the store, which orders them), so that a store can merge them.
 */
export const allAtOnce: PushTurnsFactory = (store) => {
  let all: Promise<unknown> = Promise.resolve()
  return {
    push(item) {
      const run = store([item]).then((results) => results[0] as ServerPushResult)
      all = Promise.all([all, run.catch(() => undefined)])
      return run
    },
    settled: () => all,
  }
}

/**
 * Group commit for a sole writer (`createSyncServer({ soleWriter: true, groupCommit:
 * groupCommit() })`): each turn starts after the I/O that already arrived was read
 * (`setImmediate` where there is one, else a zero timeout), and stores every push waiting for
 * it, up to {@link GROUP_MAX_EVENTS} events per store call, in one call.
 * @returns the factory of the server's turns.
 */
export function groupCommit(): PushTurnsFactory {
  return (store, atomic) => new GroupTurns(store, atomic ? GROUP_MAX_EVENTS : 0)
}

/** One turn after another; each stores the pushes waiting for it. */
class GroupTurns implements PushTurns {
  readonly #store: StoreGroup
  readonly #max: number
  #waiting: WaitingPush[] = []
  /** The turns so far, settled. */
  #turns: Promise<void> = Promise.resolve()

  constructor(store: StoreGroup, max: number) {
    this.#store = store
    this.#max = max
  }

  push(item: QueuedPush): Promise<ServerPushResult> {
    const run = new Promise<ServerPushResult>((resolve, reject) =>
      this.#waiting.push({ ...item, resolve, reject }),
    )
    if (this.#waiting.length === 1) {
      // The first to wait books the next turn; those that come before it starts join it.
      this.#turns = this.#turns
        .then(afterPendingIo)
        .then(() => this.#take())
        .catch(() => undefined)
    }
    return run
  }

  settled(): Promise<void> {
    return this.#turns
  }

  /** Stores the waiting pushes, in groups within the bound. */
  async #take(): Promise<void> {
    const waiting = this.#waiting
    this.#waiting = []
    const max = this.#max
    for (let i = 0; i < waiting.length;) {
      let events = 0
      let end = i
      do events += size(waiting[end++] as WaitingPush)
      while (
        end < waiting.length &&
        !alone(waiting[end - 1] as WaitingPush) &&
        !alone(waiting[end] as WaitingPush) &&
        events + size(waiting[end] as WaitingPush) <= max
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
 * A push's number of events; 0 for what is not the result of `checkPush` (a caller's mistake),
 * which the store call refuses (`invalid-argument`), alone on the retry, instead of the turn
 * failing here and leaving every push of it unanswered.
 */
function size(item: WaitingPush): number {
  return (item.push as Partial<CheckedPush> | undefined)?.events?.length ?? 0
}

/**
 * Whether a push goes in a store call of its own: one aborted before its turn keeps its signal
 * there, which refuses it as it would without group commit (a group's call has no signal).
 */
function alone(item: WaitingPush): boolean {
  return item.options.signal?.aborted === true
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
