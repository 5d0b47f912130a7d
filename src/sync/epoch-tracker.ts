/**
 * What the manager knows of the remote's epoch (the identity of its log, new when it is wiped or
 * replaced): the epoch last reported, whether a pull found a change the push pass must still act
 * on, the `epoch-changed` event (once per change), and the bound on restarts within one pass; and
 * what hints that the remote regressed within its epoch (a restored backup), so that the manager
 * asks for its head only then.
 *
 * @module
 */
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Checkpoint } from '../types/index.js'
import type { SyncContext } from './sync-options.js'

/**
 * How many times one push or pull pass starts over for a changed remote epoch before it gives up:
 * a real reset needs one; more means the epoch keeps changing under us.
 */
export const MAX_EPOCH_RESTARTS = 3

/**
 * The epoch tag of checkpoints taken in a log that regressed: it matches no remote's epoch, so
 * both passes start over from the beginning, also after a restart.
 */
export const REGRESSED = 'sync-kit:regressed'

/** The remote's epoch as this manager last saw it. */
export class EpochTracker {
  /** The epoch the remote reported last, `undefined` before its first answer that had one. */
  remote: string | undefined
  /** A pull found the epoch changed: the push checkpoint is stale, re-send this sync. */
  resetPending = false
  /** A push of this sync stored events new to the remote: the pull must find them after our cursor. */
  stored = false
  /**
   * Ask the remote for its head before the next sync: true for a new manager (a restart) and after
   * a failed sync or a lost live stream — when a server may have been restored meanwhile.
   */
  probe = true
  readonly #ctx: SyncContext
  #lastChange: string | undefined

  /** @param ctx - `epoch-changed` is emitted there. */
  constructor(ctx: SyncContext) {
    this.#ctx = ctx
  }

  /**
   * Reports a change of epoch, once per pair of epochs (push and pull may both find it).
   * @param previous - the epoch of our checkpoint.
   * @param current - the epoch the remote reports now.
   */
  changed(previous: string, current: string): void {
    // A regression was reported when it was found.
    if (previous === REGRESSED) return
    const key = `${previous}\n${current}`
    if (this.#lastChange === key) return
    this.#lastChange = key
    this.#ctx.events.emit('epoch-changed', { previous, current })
  }

  /**
   * Gives up a push or pull pass whose remote keeps changing its epoch (e.g. several servers with
   * separate logs behind one address): starting over again and again would never end.
   * @param restarts - restarts of this pass so far, this one included.
   * @param previous - the epoch before.
   * @param current - the epoch now.
   * @throws SyncKitError `unavailable` past {@link MAX_EPOCH_RESTARTS} restarts.
   */
  checkRestarts(restarts: number, previous: string, current: string): void {
    if (restarts <= MAX_EPOCH_RESTARTS) return
    throw new SyncKitError(
      'unavailable',
      `[sync-manager] the remote's epoch changed ${restarts} times in one sync (last "${previous.slice(0, 64)}" to "${current.slice(0, 64)}"): several logs behind one address, or resets; retry later`,
      {},
    )
  }
}

/**
 * A checkpoint value, tagged with the epoch it was taken against when one is known.
 * @param version - the version, as a string.
 * @param epoch - the remote's epoch, if any.
 * @returns the checkpoint.
 */
export function withEpoch(version: string, epoch: string | undefined): Checkpoint {
  return epoch === undefined || epoch === '' ? { version } : { version, epoch }
}
