import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../stores/memory/index.js'
import { createSyncHandler } from './sync-handler.js'
import { get, makeEvent, pushEvents } from './test-helpers.fixture.js'

interface Page {
  events: { event: { id: string }; version: string }[]
  hasMore: boolean
  nextSince?: string
}

async function pullAll(handler: (r: Request) => Promise<Response>, limit: number): Promise<Page[]> {
  const pages: Page[] = []
  let since: string | undefined
  for (;;) {
    const response = await handler(
      get(`/v1/events?limit=${limit}${since ? `&since=${since}` : ''}`),
    )
    expect(response.status).toBe(200)
    const page = (await response.json()) as Page
    pages.push(page)
    if (!page.hasMore) return pages
    since = page.nextSince
  }
}

describe('pull pages within a byte budget', () => {
  it('Given events of ~300 bytes and a 1,000-byte page budget, When pulling with a large limit, Then pages stop at the budget and every event arrives once, in order', async () => {
    const handler = createSyncHandler({ store: createMemoryStore(), maxPageBytes: 1_000 })
    const events = Array.from({ length: 10 }, (_, i) =>
      makeEvent(`e${i}`, { data: { text: 'x'.repeat(200) } }),
    )
    expect((await handler(pushEvents(events))).status).toBe(200)

    const pages = await pullAll(handler, 100)

    expect(pages.length).toBeGreaterThan(2)
    for (const page of pages) expect(page.events.length).toBeLessThanOrEqual(3)
    expect(pages.flatMap((p) => p.events.map((e) => e.event.id))).toEqual(events.map((e) => e.id))
  })

  it('Given one event larger than the page budget, When pulling, Then it still arrives, alone on its page', async () => {
    const handler = createSyncHandler({ store: createMemoryStore(), maxPageBytes: 100 })
    const events = [makeEvent('big', { data: { text: 'y'.repeat(500) } }), makeEvent('small')]
    expect((await handler(pushEvents(events))).status).toBe(200)

    const pages = await pullAll(handler, 10)

    expect(pages.map((p) => p.events.map((e) => e.event.id))).toEqual([['big'], ['small']])
  })

  it('Given a page that ends exactly at the limit, When more events exist, Then hasMore says so', async () => {
    const handler = createSyncHandler({ store: createMemoryStore() })
    expect(
      (await handler(pushEvents(Array.from({ length: 5 }, (_, i) => makeEvent(`e${i}`))))).status,
    ).toBe(200)

    const first = (await (await handler(get('/v1/events?limit=5'))).json()) as Page
    const second = (await (await handler(get('/v1/events?limit=4'))).json()) as Page

    expect(first).toMatchObject({ hasMore: false })
    expect(first.events).toHaveLength(5)
    expect(second).toMatchObject({ hasMore: true, nextSince: '4' })
  })

  it('Given an event over maxEventBytes, When pushed, Then the push is refused with 413 and nothing is stored', async () => {
    const store = createMemoryStore()
    const handler = createSyncHandler({ store, maxEventBytes: 1_000 })

    const response = await handler(
      pushEvents([makeEvent('ok'), makeEvent('too-big', { data: { text: 'z'.repeat(2_000) } })]),
    )

    expect(response.status).toBe(413)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'payload-too-large',
    )
    expect(store.size).toBe(0)
  })
})
