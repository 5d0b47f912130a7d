import { describe, expect, it } from 'vitest'

import type { Event } from '../../src/index.js'
import { compareDigests, digestLog, isEqual } from './log-digest.js'

const event = (id: string, aggregateId: string, hlc: string, data: object): Event => ({
  id,
  type: 'Edited',
  aggregateId,
  data,
  metadata: { hlc },
})

describe('load test exactly-once digest', () => {
  const e1 = event('c000.0', 'doc-0', '0000000000001-0000-c000', { f0: 1 })
  const e2 = event('c001.0', 'doc-0', '0000000000002-0000-c001', { f0: 2 })
  const e3 = event('c001.1', 'doc-1', '0000000000003-0000-c001', { f1: 3 })

  it('is equal for the same events in any arrival order', () => {
    // Given the server's log and a replica that received the same events in another order
    const server = digestLog([e1, e2, e3])
    const replica = digestLog([e3, e2, e1])
    // Then nothing differs
    expect(isEqual(compareDigests(replica, server))).toBe(true)
    expect(server.aggregates.get('doc-0')?.events).toBe(2)
  })

  it('counts missing, extra and duplicated events and the aggregates they change', () => {
    const server = digestLog([e1, e2, e3])
    const other = event('c002.0', 'doc-1', '0000000000004-0000-c002', { f1: 9 })
    // Given a replica that lacks e2, holds an event the server does not, and e1 twice
    const difference = compareDigests(digestLog([e1, e1, e3, other]), server)
    expect(difference).toEqual({
      missing: 1,
      extra: 1,
      duplicated: 1,
      orderMismatches: 2,
      stateMismatches: 2,
    })
    expect(isEqual(difference)).toBe(false)
  })
})
