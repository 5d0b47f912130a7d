import { describe, expect, it } from 'vitest'

import { Histogram } from './histogram.js'
import { countLogRecord, emptyWireCounters, launcherFor } from './servers.js'

describe('load test servers', () => {
  it('counts pushes, pulls, streams and refusals from the request records of sync-kit serve, and the server time of each successful push', () => {
    const wire = emptyWireCounters()
    const pushHandling = new Histogram()
    const request = { level: 'info', msg: 'request', status: 200 }
    countLogRecord(
      wire,
      {
        ...request,
        method: 'POST',
        path: '/v1/events',
        ms: 12,
        events: 5,
        stored: 2,
        duplicates: 3,
      },
      pushHandling,
    )
    countLogRecord(
      wire,
      {
        ...request,
        method: 'POST',
        path: '/sync/v1/events',
        ms: 400,
        events: 1,
        stored: 1,
        duplicates: 0,
      },
      pushHandling,
    )
    countLogRecord(
      wire,
      { ...request, method: 'GET', path: '/v1/events', ms: 9_000, events: 7 },
      pushHandling,
    )
    countLogRecord(wire, {
      ...request,
      method: 'GET',
      path: '/v1/stream',
      stream: 'open',
      events: 0,
    })
    countLogRecord(wire, { ...request, method: 'GET', path: '/v1/stream', stream: 'closed' })
    countLogRecord(
      wire,
      {
        level: 'warn',
        msg: 'request',
        method: 'POST',
        path: '/v1/events',
        status: 413,
        ms: 8_000,
      },
      pushHandling,
    )
    countLogRecord(wire, { level: 'info', msg: 'listening', url: 'http://127.0.0.1:1' })
    countLogRecord(wire, { level: 'error', msg: 'request failed', message: 'boom' })
    expect(wire).toMatchObject({
      pushRequests: 2,
      pushedEvents: 6,
      storedEvents: 3,
      duplicateEvents: 3,
      pullRequests: 1,
      pulledEvents: 7,
      streamsOpened: 1,
      refused: { '413': 1 },
      problems: 1,
    })
    expect(wire.messages).toHaveLength(2)
    // Only the two successful pushes: not the pull, not the refused push.
    expect(pushHandling.n).toBe(2)
    expect(pushHandling.summary().max).toBe(400)
  })

  it('counts a successful push whose record has no numeric ms (or a 5xx one) as the wire does, adding no server time: the histogram n says how many pushes it covers', () => {
    const wire = emptyWireCounters()
    const pushHandling = new Histogram()
    const push = { level: 'info', msg: 'request', method: 'POST', path: '/v1/events', status: 200 }
    countLogRecord(wire, { ...push, events: 1, stored: 1 }, pushHandling)
    countLogRecord(wire, { ...push, ms: '7', events: 1, stored: 1 }, pushHandling)
    countLogRecord(wire, { ...push, ms: Number.NaN, events: 1, stored: 1 }, pushHandling)
    countLogRecord(wire, { ...push, ms: 0, events: 2, stored: 2 }, pushHandling)
    countLogRecord(wire, { ...push, level: 'error', status: 503, ms: 30_000 }, pushHandling)
    expect(wire).toMatchObject({ pushRequests: 4, storedEvents: 5, refused: { '503': 1 } })
    expect(pushHandling.summary()).toMatchObject({ n: 1, max: 0 })
  })

  it('runs SQLite as one instance and says PostgreSQL is not there yet', () => {
    expect(typeof launcherFor('sqlite', 1)).toBe('function')
    expect(() => launcherFor('sqlite', 3)).toThrow(/one server instance/)
    // Without a PostgreSQL server to create its database on, --store postgres says how to get one.
    expect(() => launcherFor('postgres', 3)).toThrow(/needs a PostgreSQL server.*start-postgres/)
    expect(typeof launcherFor('postgres', 3, 'postgres://u@127.0.0.1:5432/postgres')).toBe(
      'function',
    )
  })
})
