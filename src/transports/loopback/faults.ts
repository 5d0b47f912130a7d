import { badArgument } from './loopback-checks.js'
import type { LoopbackOp } from './loopback-transport.js'

const OPS: ReadonlySet<string> = new Set<LoopbackOp>(['push', 'pull', 'latestVersion', 'subscribe'])

/**
 * Options for {@link LoopbackFaults.failNext}.
 *
 * @example
 * ```ts
 * import { createTestHub, type FailNextOptions } from 'sync-kit/testing'
 *
 * const lostAck: FailNextOptions = { afterStore: true } // implies op: 'push'
 * createTestHub().client('a').failNext(1, lostAck)
 * ```
 */
export interface FailNextOptions {
  /**
   * The code the failed calls reject with; both are transient, so a well-behaved client retries.
   * @defaultValue `'unavailable'`
   */
  readonly code?: 'unavailable' | 'timeout'
  /**
   * Only calls of this kind fail; other calls pass and do not use up the count.
   * @defaultValue every kind of call
   */
  readonly op?: LoopbackOp
  /**
   * Fails the push AFTER the hub stored its events: the client sees an error although the remote
   * has the events (a lost acknowledgement), so it must retry, and the retry reports duplicates.
   * Models at-least-once delivery. Implies `op: 'push'`.
   * @defaultValue false
   */
  readonly afterStore?: boolean
}

/**
 * Fault injection for live deliveries and calls of a test hub (`createTestHub` from
 * `sync-kit/testing`), hub-wide (`hub.failNext(…)`) or for one client (`hub.client('a').failNext(…)`). Counts add up: `failNext(2)` twice fails the next four calls.
 * Per-client faults are used before hub-wide ones.
 *
 * @example
 * ```ts
 * import { createTestHub } from 'sync-kit/testing'
 *
 * const hub = createTestHub()
 * hub.failNext(2, { op: 'pull', code: 'timeout' }) // the next two pulls of anyone time out
 * hub.client('a').failNext(1, { afterStore: true }) // a's next push is stored, its ack lost
 * hub.client('b').dropNextDeliveries(1) // b misses one live batch
 * hub.duplicateNextDeliveries(1) // the next live batch arrives twice
 * hub.reorderDeliveries(true) // waiting batches are delivered in a random order
 * hub.clearFaults()
 * ```
 */
export interface LoopbackFaults {
  /**
   * Makes the next `n` matching calls fail with a transient error.
   * @param n - how many calls fail; a positive safe integer.
   * @param options - the error code, the kind of call, and whether a push fails after storing.
   * @throws SyncKitError `invalid-argument` for a bad `n` or options.
   */
  failNext(n: number, options?: FailNextOptions): void
  /**
   * Drops the next `n` live deliveries (one delivery = one batch to one subscription): the
   * subscriber never sees those events live and must catch up by pulling.
   * @param n - how many deliveries to drop; a positive safe integer.
   * @throws SyncKitError `invalid-argument` for a bad `n`.
   */
  dropNextDeliveries(n: number): void
  /**
   * Delivers each of the next `n` live deliveries twice, one right after the other.
   * @param n - how many deliveries to duplicate; a positive safe integer.
   * @throws SyncKitError `invalid-argument` for a bad `n`.
   */
  duplicateNextDeliveries(n: number): void
  /**
   * While enabled, a subscription with several batches waiting (a slow handler, a client coming
   * back online) receives them in a random order drawn from the hub's `random` option.
   * @param enabled - true to reorder, false to deliver in order again.
   */
  reorderDeliveries(enabled: boolean): void
  /** Forgets pending failures, drops and duplicates, and turns reordering off. */
  clearFaults(): void
}

interface FailureRule {
  remaining: number
  readonly code: 'unavailable' | 'timeout'
  readonly op: LoopbackOp | undefined
  readonly afterStore: boolean
}

/** A failure taken from the fault state for one call. */
export interface InjectedFailure {
  readonly code: 'unavailable' | 'timeout'
  readonly afterStore: boolean
}

/** The fault state of the hub or of one client. */
export class FaultState implements LoopbackFaults {
  #rules: FailureRule[] = []
  #drops = 0
  #duplicates = 0
  /** Whether deliveries are reordered. */
  reorder = false

  failNext(n: number, options: FailNextOptions = {}): void {
    checkCount(n, 'failNext')
    if (typeof options !== 'object' || options === null) {
      throw badArgument('options', 'failNext options must be an object')
    }
    const code = options.code ?? 'unavailable'
    if (code !== 'unavailable' && code !== 'timeout') {
      throw badArgument(
        'code',
        `failNext code must be "unavailable" or "timeout", got ${JSON.stringify(code)}`,
      )
    }
    const afterStore = options.afterStore ?? false
    if (typeof afterStore !== 'boolean') {
      throw badArgument('afterStore', 'failNext afterStore must be a boolean')
    }
    let op = options.op
    if (op !== undefined && !OPS.has(op)) {
      throw badArgument(
        'op',
        `failNext op must be one of push, pull, latestVersion, subscribe, got ${JSON.stringify(op)}`,
      )
    }
    if (afterStore) {
      if (op !== undefined && op !== 'push') {
        throw badArgument('afterStore', `afterStore applies to pushes only; got op "${op}"`)
      }
      op = 'push'
    }
    this.#rules.push({ remaining: n, code, op, afterStore })
  }

  dropNextDeliveries(n: number): void {
    checkCount(n, 'dropNextDeliveries')
    this.#drops += n
  }

  duplicateNextDeliveries(n: number): void {
    checkCount(n, 'duplicateNextDeliveries')
    this.#duplicates += n
  }

  reorderDeliveries(enabled: boolean): void {
    if (typeof enabled !== 'boolean') {
      throw badArgument('enabled', 'reorderDeliveries takes a boolean')
    }
    this.reorder = enabled
  }

  clearFaults(): void {
    this.#rules = []
    this.#drops = 0
    this.#duplicates = 0
    this.reorder = false
  }

  /**
   * Uses up one failure matching `op`, if any is pending.
   * @param op - the call being made.
   * @returns the failure, or undefined when the call passes.
   */
  takeFailure(op: LoopbackOp): InjectedFailure | undefined {
    const index = this.#rules.findIndex((r) => r.op === undefined || r.op === op)
    const rule = this.#rules[index]
    if (rule === undefined) return undefined
    rule.remaining--
    if (rule.remaining === 0) this.#rules.splice(index, 1)
    return { code: rule.code, afterStore: rule.afterStore }
  }

  /** Uses up one pending drop; true when the delivery must be dropped. */
  takeDrop(): boolean {
    if (this.#drops === 0) return false
    this.#drops--
    return true
  }

  /** Uses up one pending duplicate; true when the delivery must be sent twice. */
  takeDuplicate(): boolean {
    if (this.#duplicates === 0) return false
    this.#duplicates--
    return true
  }
}

function checkCount(n: number, what: string): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    throw badArgument('n', `${what} takes a positive safe integer count, got ${String(n)}`)
  }
}
