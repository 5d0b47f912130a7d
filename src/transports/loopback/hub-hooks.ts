/**
 * The hook points of the plain loopback hub: methods the hub calls before each call's work, after
 * it stored and when it finished, and the delivery it makes for each subscription. The plain
 * hub's hooks are no-ops (a call each is all they cost) and its deliveries hand each batch to the
 * handler; the test hub (`createTestHub` in `test-hub.ts`, shipped by `sync-kit/testing`)
 * overrides them to plug its simulated network in: latency, offline clients and injected failures
 * around each call, the call record after it, and deliveries that queue each live batch for the
 * delivery faults (`DeliveryHooks`, `live-delivery.ts`). One hub, one path to the server core: the
 * test hub adds behaviour at these points, never a second copy.
 *
 * @module
 */
import type { SyncKitErrorCode } from '../../errors/sync-kit-error.js'
import type { EventWithVersion, Version } from '../../types/index.js'
import type { LoopbackConnection, LoopbackOp } from './loopback-transport.js'

/** Run after a call's work stored its events: throws to lose the acknowledgement. */
export type AfterStore = (() => void) | undefined

/** Hooks around every call a client makes. */
export interface CallHooks {
  /**
   * Runs after the hub's own checks (closed, aborted, arguments) and before the work. It may
   * wait (latency; a promise only then, so a call without latency keeps its timing) and throw
   * (offline, an injected failure).
   * @returns a check to run once the work has stored, or undefined.
   */
  before(
    connection: LoopbackConnection,
    op: LoopbackOp,
    signal: AbortSignal | undefined,
  ): AfterStore | Promise<AfterStore>
  /** Runs once per call when it has finished: `error` is the code it rejected with, if any. */
  done(clientId: string, op: LoopbackOp, events: number, error?: SyncKitErrorCode): void
}

/** A batch waiting for a subscriber. */
export interface InFlight {
  readonly events: readonly EventWithVersion[]
  /** Replayed batches are never dropped, duplicated or reordered. */
  readonly live: boolean
  /** The feed's cursor before the batch (see `FeedBatch.after`). */
  readonly after: Version | null
}

/** Hooks around every live delivery of a test hub (`LiveDelivery`). */
export interface DeliveryHooks {
  /** How many copies of a live batch go to the client: 0 (dropped), 1, or 2 (duplicated). */
  copies(clientId: string): number
  /** True while the client is unreachable: its deliveries wait. */
  isOffline(clientId: string): boolean
  /** The index in `queue` (two or more batches) of the batch to deliver next. */
  pick(clientId: string, queue: readonly InFlight[]): number
}
