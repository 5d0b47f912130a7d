// A WebSocket client of a server with group commit (issue 10), on real sockets: the pushes stored
// in one commit reach a live subscriber as one batch per push, as without group commit. The
// commit as one message would pass the socket's send bound (sized for a page, `maxPageBytes`)
// and cut off a client that reads as fast as it can, with 1013, as if it were slow.
import { describe, expect, it } from 'vitest'
import { openSqliteStore } from '../../stores/sqlite/index.js'
import type { Event } from '../../types/index.js'
import { teardowns, waitFor } from './ws-raw.fixture.js'

const { running, server, client } = teardowns()

const event = (id: string, size = 0): Event => ({
  id,
  type: 'Noted',
  aggregateId: 'a',
  data: { text: 'x'.repeat(size) },
})

describe('WebSocket live delivery from a group commit', () => {
  it('Given a client that subscribes and pushes on one socket, When 7 pushes of ~200 KB are committed together (the send bound is 512 KiB), Then it is not closed with 1013 and gets every event once, one batch per push', async () => {
    const store = await openSqliteStore({ path: ':memory:' })
    running.push(() => store.close())
    const started = await server({
      store,
      handler: {
        soleWriter: true,
        groupCommit: true,
        maxBodyBytes: 256 * 1024,
        maxPageBytes: 256 * 1024,
      },
      ws: { maxBufferedBytes: 512 * 1024 },
    })
    const subscriber = client(started.url, { retry: { retries: 0 } })
    const errors: unknown[] = []
    const batches: number[] = []
    const seen: string[] = []
    await subscriber.subscribe(
      (events) => {
        batches.push(events.length)
        for (const e of events) seen.push(e.event.id)
      },
      { onError: (error) => errors.push(error) },
    )
    await subscriber.push([event('warm')])
    await waitFor(() => seen.length === 1, 'the first event')

    const core = started.handler.endpoint.server
    const big = (c: number): Event[] =>
      Array.from({ length: 100 }, (_, k) => event(`b${c}.${k}`, 2_000))
    // Made in one pass of the event loop: one commit. Meanwhile the client pushes on its socket.
    const committed = Promise.all(
      Array.from({ length: 7 }, (_, c) => core.push(core.checkPush(big(c)))),
    )
    const own = (async () => {
      for (let i = 0; i < 20; i++) await subscriber.push([event(`own${i}`)])
    })()
    await Promise.all([committed, own])
    await waitFor(() => seen.length >= 1 + 700 + 20 || errors.length > 0, 'every event')

    expect(errors).toEqual([])
    expect(seen).toHaveLength(1 + 700 + 20)
    expect(new Set(seen).size).toBe(seen.length)
    expect(Math.max(...batches)).toBeLessThanOrEqual(100)
  })
})
