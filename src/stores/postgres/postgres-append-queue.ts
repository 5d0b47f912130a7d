import { abortError } from './postgres-connection.js'
import type { EncodedEvent, FoldedOutcome } from './postgres-append.js'
import type { Checkpoint, CheckpointKey } from '../../types/index.js'

/** Most events one merged statement carries (appends of their own may be larger). */
export const MAX_MERGED_EVENTS = 5000

/** Most bytes of event JSON one merged statement carries (appends of their own may be larger). */
export const MAX_MERGED_BYTES: number = 4 * 1024 * 1024

/** One append waiting for its folded statement. */
interface Waiting {
  readonly events: readonly EncodedEvent[]
  readonly createdAt: string
  readonly checkpoint: { readonly key: CheckpointKey; readonly value: Checkpoint } | undefined
  /** Sent in a statement of its own (a retry after a merged statement failed). */
  readonly alone: boolean
  readonly bytes: number
  resolve(outcome: FoldedOutcome): void
  reject(error: unknown): void
  /** Stops listening to the caller's signal. */
  detach(): void
}

/** Sends one folded statement for the events of one or more appends (concatenated). */
export type SendFolded = (
  events: readonly EncodedEvent[],
  createdAt: string | readonly string[],
  checkpoint: { readonly key: CheckpointKey; readonly value: Checkpoint } | undefined,
) => Promise<FoldedOutcome>

/**
 * The appends of one store, one folded statement in flight at a time: appends that arrive while
 * one runs wait, and the next statement carries all of them that fit (a group commit). Every
 * append takes the log's append lock anyway, so concurrent appends of one instance would only
 * queue behind each other inside PostgreSQL, each paying a commit; merged, they share one
 * statement and one commit. Merging changes nothing for each append: its events stay
 * consecutive, in its order, stored together or not at all (the merged statement is one
 * transaction).
 *
 * Appends with a checkpoint, retries, and appends sharing an id with the group are sent alone.
 * An append can be aborted while it waits (nothing was sent); once its statement is sent, it
 * reports what happened.
 */
export class AppendQueue {
  readonly #send: SendFolded
  #waiting: Waiting[] = []
  #busy = false

  /** @param send - runs one folded statement. */
  constructor(send: SendFolded) {
    this.#send = send
  }

  /**
   * Queues an append's folded statement.
   * @param events - the append's first occurrences of ids; at least one.
   * @param createdAt - the append's `created_at`.
   * @param checkpoint - its checkpoint, if any (then it is sent alone).
   * @param alone - send it in a statement of its own.
   * @param signal - aborts it while it waits.
   * @param what - the operation, for the abort message (`store`, `storeBatch`).
   * @returns what its statement did (inserted versions, or stored events among the ids).
   * @throws SyncKitError `aborted` when the signal fired before it was sent; the driver's error.
   */
  submit(
    events: readonly EncodedEvent[],
    createdAt: string,
    checkpoint: { readonly key: CheckpointKey; readonly value: Checkpoint } | undefined,
    alone: boolean,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<FoldedOutcome> {
    return new Promise<FoldedOutcome>((resolve, reject) => {
      const onAbort = (): void => {
        const before = this.#waiting.length
        this.#waiting = this.#waiting.filter((w) => w !== entry)
        if (this.#waiting.length < before) reject(abortError(signal, what))
      }
      const entry: Waiting = {
        events,
        createdAt,
        checkpoint,
        alone: alone || checkpoint !== undefined,
        bytes: events.reduce((sum, e) => sum + e.data.length + (e.metadata?.length ?? 0), 0),
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(entry)
      if (!this.#busy) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#busy = true
    try {
      for (;;) {
        const group = this.#nextGroup()
        if (group.length === 0) return
        for (const entry of group) entry.detach()
        const events =
          group.length === 1 ? (group[0] as Waiting).events : group.flatMap((w) => w.events)
        const createdAt = timesOf(group)
        try {
          const outcome = await this.#send(events, createdAt, group[0]?.checkpoint)
          for (const entry of group) entry.resolve(outcome)
        } catch (error) {
          for (const entry of group) entry.reject(error)
        }
      }
    } finally {
      this.#busy = false
    }
  }

  /** Takes the first waiting append and those after it that can share its statement. */
  #nextGroup(): Waiting[] {
    const first = this.#waiting[0]
    if (first === undefined) return []
    const group = [first]
    if (!first.alone) {
      const ids = new Set(first.events.map((e) => e.event.id))
      let count = first.events.length
      let bytes = first.bytes
      for (const entry of this.#waiting.slice(1)) {
        if (entry.alone) continue
        if (count + entry.events.length > MAX_MERGED_EVENTS) continue
        if (bytes + entry.bytes > MAX_MERGED_BYTES) continue
        if (entry.events.some((e) => ids.has(e.event.id))) continue
        for (const e of entry.events) ids.add(e.event.id)
        count += entry.events.length
        bytes += entry.bytes
        group.push(entry)
      }
    }
    const taken = new Set(group)
    this.#waiting = this.#waiting.filter((w) => !taken.has(w))
    return group
  }
}

/** `created_at` of a group: its one append's time, or each append's own for its events. */
function timesOf(group: readonly Waiting[]): string | string[] {
  if (group.length === 1) return (group[0] as Waiting).createdAt
  return group.flatMap((w) => w.events.map(() => w.createdAt))
}
