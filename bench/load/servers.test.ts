import { describe, expect, it } from 'vitest'

import { countLogRecord, emptyWireCounters, launcherFor } from './servers.js'

describe('load test servers', () => {
  it('counts pushes, pulls, streams and refusals from the request records of sync-kit serve', () => {
    const wire = emptyWireCounters()
    const request = { level: 'info', msg: 'request', status: 200 }
    countLogRecord(wire, {
      ...request,
      method: 'POST',
      path: '/v1/events',
      events: 5,
      stored: 2,
      duplicates: 3,
    })
    countLogRecord(wire, {
      ...request,
      method: 'POST',
      path: '/sync/v1/events',
      events: 1,
      stored: 1,
      duplicates: 0,
    })
    countLogRecord(wire, { ...request, method: 'GET', path: '/v1/events', events: 7 })
    countLogRecord(wire, {
      ...request,
      method: 'GET',
      path: '/v1/stream',
      stream: 'open',
      events: 0,
    })
    countLogRecord(wire, { ...request, method: 'GET', path: '/v1/stream', stream: 'closed' })
    countLogRecord(wire, {
      level: 'warn',
      msg: 'request',
      method: 'POST',
      path: '/v1/events',
      status: 413,
    })
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
