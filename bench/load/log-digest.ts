/**
 * The exactly-once check of the load test: a digest of a log (every event id, duplicates, and per
 * aggregate a hash of its event ids in event order and a hash of its materialised state), and the
 * comparison of a replica's digest with the server's. Identical digests mean the same events, each
 * once, and the same state of every aggregate.
 *
 * @module
 */
import { createHash } from 'node:crypto'

import { compareEvents, materializeAggregate } from '../../src/index.js'
import type { Event } from '../../src/index.js'

/** Hashes of one aggregate. */
export interface AggregateDigest {
  /** Number of (distinct) events. */
  readonly events: number
  /** SHA-256 of the event ids in `compareEvents` order (HLC, then id), one per line. */
  readonly order: string
  /** SHA-256 of `materializeAggregate`'s status and data, as JSON. */
  readonly state: string
}

/** A log's digest. */
export interface LogDigest {
  /** Every distinct event id. */
  readonly ids: ReadonlySet<string>
  /** Events the log holds more than once (by id). */
  readonly duplicates: number
  /** Per aggregate id. */
  readonly aggregates: ReadonlyMap<string, AggregateDigest>
}

/** How one replica's log differs from the server's. */
export interface LogDifference {
  /** Events the server holds that the replica does not. */
  readonly missing: number
  /** Events the replica holds that the server does not. */
  readonly extra: number
  /** Events the replica holds more than once. */
  readonly duplicated: number
  /** Aggregates whose ordered ids differ. */
  readonly orderMismatches: number
  /** Aggregates whose materialised state differs. */
  readonly stateMismatches: number
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/**
 * Digests a log.
 * @param events - every event of the log, in any order (duplicates are counted, then ignored).
 * @returns the digest.
 */
export function digestLog(events: Iterable<Event>): LogDigest {
  const byAggregate = new Map<string, Event[]>()
  const ids = new Set<string>()
  let duplicates = 0
  for (const event of events) {
    if (ids.has(event.id)) {
      duplicates++
      continue
    }
    ids.add(event.id)
    const list = byAggregate.get(event.aggregateId) ?? []
    list.push(event)
    byAggregate.set(event.aggregateId, list)
  }
  const aggregates = new Map<string, AggregateDigest>()
  for (const [aggregateId, list] of byAggregate) {
    const ordered = [...list].sort(compareEvents)
    const state = materializeAggregate(ordered)
    aggregates.set(aggregateId, {
      events: ordered.length,
      order: sha256(ordered.map((event) => event.id).join('\n')),
      state: sha256(JSON.stringify({ status: state.status, data: state.data })),
    })
  }
  return { ids, duplicates, aggregates }
}

/**
 * Compares a replica's digest with the server's.
 * @param replica - the replica's digest.
 * @param server - the server's digest.
 * @returns the counts of what differs (all 0 when the replica equals the server).
 */
export function compareDigests(replica: LogDigest, server: LogDigest): LogDifference {
  let missing = 0
  for (const id of server.ids) if (!replica.ids.has(id)) missing++
  let extra = 0
  for (const id of replica.ids) if (!server.ids.has(id)) extra++
  let orderMismatches = 0
  let stateMismatches = 0
  const aggregateIds = new Set([...server.aggregates.keys(), ...replica.aggregates.keys()])
  for (const aggregateId of aggregateIds) {
    const a = replica.aggregates.get(aggregateId)
    const b = server.aggregates.get(aggregateId)
    if (a?.order !== b?.order) orderMismatches++
    if (a?.state !== b?.state) stateMismatches++
  }
  return { missing, extra, duplicated: replica.duplicates, orderMismatches, stateMismatches }
}

/** True when a difference is none at all. */
export function isEqual(difference: LogDifference): boolean {
  return Object.values(difference).every((count) => count === 0)
}
