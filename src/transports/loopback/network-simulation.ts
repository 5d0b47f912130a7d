import { SyncKitError } from '../../errors/sync-kit-error.js'
import { FaultState } from './faults.js'
import type { InjectedFailure } from './faults.js'
import type { DeliveryHooks, InFlight } from './hub-hooks.js'
import type { LiveDelivery } from './live-delivery.js'
import { badArgument, checkClientId } from './loopback-checks.js'
import type { LoopbackOp } from './loopback-transport.js'

/** What the simulated network needs from its hub. */
export interface NetworkHost {
  /** Every live delivery of the hub, one per subscription. */
  readonly live: ReadonlySet<LiveDelivery>
  /** The hub's seeded random source, in [0, 1). */
  random(): number
}

/**
 * The network between a test hub and its clients, simulated: who is reachable (offline clients,
 * partitions), injected faults, and — as the hub's delivery hooks — what happens to the live
 * deliveries in flight to each subscriber: dropped, duplicated, withheld and reordered as told.
 */
export class Network implements DeliveryHooks {
  /** Hub-wide faults. */
  readonly faults: FaultState = new FaultState()
  readonly #host: NetworkHost
  readonly offlineDeliveries: 'withhold' | 'drop'
  readonly #clientFaults = new Map<string, FaultState>()
  readonly #offline = new Set<string>()
  readonly #partitioned = new Set<string>()

  /**
   * @param host - the hub.
   * @param offlineDeliveries - what happens to live deliveries for an unreachable client.
   */
  constructor(host: NetworkHost, offlineDeliveries: 'withhold' | 'drop') {
    this.#host = host
    this.offlineDeliveries = offlineDeliveries
  }

  /**
   * The faults of one client, kept across reconnects.
   * @param clientId - the client.
   * @returns its fault state.
   */
  client(clientId: string): FaultState {
    checkClientId(clientId)
    let faults = this.#clientFaults.get(clientId)
    if (faults === undefined) {
      faults = new FaultState()
      this.#clientFaults.set(clientId, faults)
    }
    return faults
  }

  /** Clears hub-wide and per-client faults. */
  clearFaults(): void {
    this.faults.clearFaults()
    for (const faults of this.#clientFaults.values()) faults.clearFaults()
  }

  /**
   * Uses up one injected failure for a call, the client's own first.
   * @param clientId - the caller.
   * @param op - the call.
   * @returns the failure, or undefined when the call passes.
   */
  takeFailure(clientId: string, op: LoopbackOp): InjectedFailure | undefined {
    return this.#clientFaults.get(clientId)?.takeFailure(op) ?? this.faults.takeFailure(op)
  }

  /**
   * @param clientId - the client.
   * @returns true while it is offline or partitioned away.
   */
  isOffline(clientId: string): boolean {
    return this.#offline.has(clientId) || this.#partitioned.has(clientId)
  }

  /**
   * @param clientId - the client.
   * @param offline - true to cut it off.
   */
  setOffline(clientId: string, offline: boolean): void {
    this.#reach(() => {
      if (offline) this.#offline.add(clientId)
      else this.#offline.delete(clientId)
    })
  }

  /**
   * Replaces the partition: every client named in a group after the first is cut off.
   * @param groups - groups of client ids.
   * @throws SyncKitError `invalid-argument` for malformed groups.
   */
  partition(groups: readonly (readonly string[])[]): void {
    if (!Array.isArray(groups) || groups.length === 0) {
      throw badArgument('groups', 'partition takes a non-empty array of groups of client ids')
    }
    const seen = new Set<string>()
    const cut = new Set<string>()
    groups.forEach((group, index) => {
      if (!Array.isArray(group)) {
        throw badArgument('groups', `partition group ${index} must be an array of client ids`)
      }
      for (const clientId of group as readonly unknown[]) {
        checkClientId(clientId)
        if (seen.has(clientId)) {
          throw badArgument('groups', `client "${clientId}" is in two partition groups`)
        }
        seen.add(clientId)
        if (index > 0) cut.add(clientId)
      }
    })
    this.#reach(() => {
      this.#partitioned.clear()
      for (const clientId of cut) this.#partitioned.add(clientId)
    })
  }

  /** Ends the partition. */
  heal(): void {
    this.#reach(() => this.#partitioned.clear())
  }

  /**
   * Applies the delivery faults to one live batch for one client.
   * @param clientId - the subscriber.
   * @returns how many times to deliver it: 0 (dropped), 1, or 2 (duplicated).
   */
  copies(clientId: string): number {
    if (this.offlineDeliveries === 'drop' && this.isOffline(clientId)) return 0
    const faults = this.#clientFaults.get(clientId)
    if (faults?.takeDrop() === true || this.faults.takeDrop()) return 0
    return faults?.takeDuplicate() === true || this.faults.takeDuplicate() ? 2 : 1
  }

  /**
   * Picks the next of several waiting batches: a random one while reordering is on for the
   * client and the first waiting batch is live (replayed batches keep their order), else the
   * first.
   * @param clientId - the subscriber.
   * @param queue - the waiting batches.
   * @returns the index of the batch to deliver.
   */
  pick(clientId: string, queue: readonly InFlight[]): number {
    const reorder = this.faults.reorder || this.#clientFaults.get(clientId)?.reorder === true
    if (!reorder || queue[0]?.live !== true) return 0
    return Math.min(queue.length - 1, Math.floor(this.#host.random() * queue.length))
  }

  /** Changes reachability, telling subscriptions that went offline and resuming those back. */
  #reach(change: () => void): void {
    const before = new Map<LiveDelivery, boolean>()
    for (const delivery of this.#host.live) before.set(delivery, this.isOffline(delivery.clientId))
    change()
    for (const delivery of [...this.#host.live]) {
      const was = before.get(delivery) === true
      const now = this.isOffline(delivery.clientId)
      if (!was && now) {
        delivery.connectionLost(
          new SyncKitError(
            'unavailable',
            `[sync-kit] [loopback] client "${delivery.clientId}" went offline; live ` +
              `deliveries are ${this.offlineDeliveries === 'drop' ? 'dropped' : 'withheld'} ` +
              'until it is back online',
            {},
          ),
        )
      } else if (was && !now) {
        delivery.resume()
      }
    }
  }
}
