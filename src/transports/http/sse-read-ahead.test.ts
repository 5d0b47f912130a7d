/**
 * The SSE client reads ahead of a slow handler (what arrives while it works goes over as the next
 * batch): through scripted streams — a proxy replaying what was delivered, drops, a restarted
 * server — each event reaches the handler once, in order, each batch following the last.
 */
import { describe, expect, it } from 'vitest'
import { MAX_READ_AHEAD_EVENTS } from '../../core/resuming-subscription.js'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { TestClock } from '../../testing/test-clock.js'
import type { EventWithVersion, LiveBatchInfo } from '../../types/index.js'
import { createHttpTransport } from './http-transport.js'
import { BASE, makeEvent } from './test-helpers.fixture.js'

type Fetch = typeof fetch

const encoder = new TextEncoder()
const hello = (epoch: string, latestVersion: string, cursor = latestVersion): string =>
  `event: hello\ndata: ${JSON.stringify({ epoch, latestVersion, cursor })}\n\n`
const events = (from: number, to: number): string => {
  let text = ''
  for (let n = from; n <= to; n++) {
    text += `event: event\nid: ${n}\ndata: ${JSON.stringify({ event: makeEvent(`e${n}`), version: String(n) })}\n\n`
  }
  return text
}

/**
 * A fetch whose n-th stream sends `scripts[n]` chunk by chunk (a macrotask apart), then ends the
 * stream (`'end'`) or holds it open; records each request's Last-Event-ID.
 */
function scripted(scripts: readonly (readonly string[])[]): {
  fetch: Fetch
  asked: (string | null)[]
} {
  const asked: (string | null)[] = []
  const fetchImpl: Fetch = (_input, init) => {
    const headers = new Headers(init?.headers)
    asked.push(headers.get('last-event-id'))
    const script = scripts[Math.min(asked.length - 1, scripts.length - 1)] as readonly string[]
    const signal = init?.signal ?? undefined
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const chunk of script) {
          await new Promise((resolve) => setTimeout(resolve, 1))
          if (signal?.aborted) return
          if (chunk === 'end') {
            controller.close()
            return
          }
          controller.enqueue(encoder.encode(chunk))
        }
      },
    })
    return Promise.resolve(new Response(body, { headers: { 'content-type': 'text/event-stream' } }))
  }
  return { fetch: fetchImpl, asked }
}

function client(fetchImpl: Fetch) {
  return createHttpTransport({
    url: BASE,
    fetch: fetchImpl,
    random: () => 0,
    retry: { retries: 3, initialMs: 1, maxMs: 4 },
  })
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A slow handler recording what it got. */
function slowHandler(ms: number) {
  const got: number[] = []
  const batches: { first: number; size: number; after: string | undefined }[] = []
  const handler = async (batch: readonly EventWithVersion[], info?: LiveBatchInfo) => {
    batches.push({
      first: Number(batch[0]?.version.toString()),
      size: batch.length,
      after: info?.after.toString(),
    })
    for (const e of batch) got.push(Number(e.version.toString()))
    await new Promise((resolve) => setTimeout(resolve, ms))
  }
  return { got, batches, handler }
}

/** Each batch follows the one before it: its `after` is the previous batch's last version. */
function expectChained(
  batches: readonly { first: number; size: number; after: string | undefined }[],
  start: number,
): void {
  let previous = start
  for (const batch of batches) {
    expect(batch.after).toBe(String(previous))
    expect(batch.first).toBe(previous + 1)
    previous += batch.size
  }
}

/** Lets I/O and timer callbacks of the real event loop run (no clock time passes). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function turnsUntil(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (check()) return
    await turn()
  }
  throw new Error(`never happened: ${what}`)
}

/**
 * A fetch whose streams send `hello` and then one chunk of `chunkSize` events per read of the
 * client (a pull source without buffering: nothing is read that the client did not ask for), up
 * to `chunks` chunks, then stay open and silent. Counts the chunks read and the connections.
 */
function pulledStream(chunks: number, chunkSize: number) {
  const seen = { connections: 0, read: 0 }
  const fetchImpl: Fetch = () => {
    seen.connections++
    let sent = 0
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          controller.enqueue(encoder.encode(hello('E', '0')))
        },
        pull(controller) {
          if (sent === chunks) return new Promise<void>(() => undefined) // open, silent
          const from = sent * chunkSize + 1
          sent++
          seen.read++
          controller.enqueue(encoder.encode(events(from, from + chunkSize - 1)))
        },
      },
      { highWaterMark: 0 },
    )
    return Promise.resolve(new Response(body, { headers: { 'content-type': 'text/event-stream' } }))
  }
  return { fetch: fetchImpl, seen }
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('createHttpTransport: subscribe reads ahead of a slow handler', () => {
  it('Given a slow handler and a proxy that repeats events mid-stream, When events it already read but did not hand over come again, Then each is delivered once, in order, in chained batches', async () => {
    const { fetch: f } = scripted([
      [hello('E', '0'), events(1, 10), events(11, 20), events(5, 25), events(18, 30)],
    ])
    const { got, batches, handler } = slowHandler(15)
    const sub = await client(f).subscribe(handler)
    await waitFor(() => got.length >= 30, '30 events')
    await new Promise((resolve) => setTimeout(resolve, 40))
    await sub.unsubscribe()
    expect(got).toEqual(range(1, 30))
    expectChained(batches, 0)
    // The handler was slower than the stream: some batch carried more than one chunk.
    expect(batches.length).toBeLessThan(got.length)
  })

  it('Given a slow handler, When the stream drops with events read ahead and a proxy replays from the start on reconnect, Then what was read is handed over before reconnecting from its end, and nothing is repeated', async () => {
    const { fetch: f, asked } = scripted([
      [hello('E', '0'), events(1, 15), events(16, 40), 'end'],
      [hello('E', '40'), events(1, 40), events(41, 60)],
    ])
    const { got, batches, handler } = slowHandler(10)
    const errors: unknown[] = []
    const sub = await client(f).subscribe(handler, { onError: (e) => errors.push(e) })
    await waitFor(() => got.length >= 60, '60 events')
    await new Promise((resolve) => setTimeout(resolve, 30))
    await sub.unsubscribe()
    expect(got).toEqual(range(1, 60))
    expectChained(batches, 0)
    // The reconnect resumed after the last event read (all of it handed over first).
    expect(asked.slice(0, 2)).toEqual([null, '40'])
    expect(errors).toEqual([])
  })

  it('Given events read ahead, When the server comes back with another epoch, Then what was read is handed over first and the subscription ends with a protocol error', async () => {
    const { fetch: f, asked } = scripted([
      [hello('E', '0'), events(1, 8), events(9, 20), 'end'],
      [hello('F', '3'), events(1, 3)],
    ])
    const { got, handler } = slowHandler(10)
    const errors: unknown[] = []
    const sub = await client(f).subscribe(handler, { onError: (e) => errors.push(e) })
    await waitFor(() => errors.length > 0, 'the epoch error')
    expect(got).toEqual(range(1, 20))
    expect(isSyncKitError(errors[0], 'protocol')).toBe(true)
    expect(asked.slice(0, 2)).toEqual([null, '20'])
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(asked).toHaveLength(2)
    await sub.unsubscribe()
  })

  it('Given events read ahead, When the server restarts with the same epoch but a log that ends before them, Then what was read is handed over and the subscription ends with a protocol error', async () => {
    const { fetch: f } = scripted([
      [hello('E', '0'), events(1, 5), events(6, 12), 'end'],
      [hello('E', '7', '7')],
    ])
    const { got, handler } = slowHandler(10)
    const errors: unknown[] = []
    const sub = await client(f).subscribe(handler, { onError: (e) => errors.push(e) })
    await waitFor(() => errors.length > 0, 'the regression error')
    expect(got).toEqual(range(1, 12))
    expect(isSyncKitError(errors[0], 'protocol')).toBe(true)
    expect(String((errors[0] as Error).message)).toContain('regressed')
    await sub.unsubscribe()
  })

  it('Given a slow handler with events read ahead, When unsubscribed from inside the handler, Then no later batch is handed over', async () => {
    const { fetch: f } = scripted([[hello('E', '0'), events(1, 3), events(4, 9), events(10, 20)]])
    const got: number[] = []
    const own: { unsubscribe?: () => Promise<void> } = {}
    const sub = await client(f).subscribe(async (batch) => {
      for (const e of batch) got.push(Number(e.version.toString()))
      await new Promise((resolve) => setTimeout(resolve, 10))
      await own.unsubscribe?.()
    })
    own.unsubscribe = () => sub.unsubscribe()
    await waitFor(() => got.length > 0, 'a first batch')
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(got).toEqual(range(1, 3))
    await sub.unsubscribe()
  })

  it('Given a handler so slow that the read-ahead is full and reading stopped, When more than streamIdleTimeoutMs pass, Then the client neither reconnects nor reports the server silent, and once reading resumed a silent stream times out again', async () => {
    // Given a stream that sends 100 events per read, a TestClock for the client's timers, and a
    // handler held on its first batch
    const chunk = 100
    const chunks = MAX_READ_AHEAD_EVENTS / chunk + 2
    const { fetch: f, seen } = pulledStream(chunks, chunk)
    const clock = new TestClock()
    const idleMs = 1_000
    const transport = createHttpTransport({
      url: BASE,
      fetch: f,
      clock,
      streamIdleTimeoutMs: idleMs,
      random: () => 0,
      retry: { retries: 3, initialMs: 1, maxMs: 4 },
    })
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    const got: number[] = []
    const errors: unknown[] = []
    const sub = await transport.subscribe(
      async (batch) => {
        for (const e of batch) got.push(Number(e.version.toString()))
        await held
      },
      { onError: (e) => errors.push(e) },
    )
    // The first chunk went to the handler; the next ones fill the read-ahead, then reading stops.
    const full = MAX_READ_AHEAD_EVENTS / chunk + 1
    await turnsUntil(() => seen.read >= full, 'the read-ahead to fill')
    for (let i = 0; i < 20; i++) await turn()
    expect(seen.read).toBe(full)

    // When the handler keeps it held back for three idle timeouts
    await clock.advance(3 * idleMs)
    for (let i = 0; i < 20; i++) await turn()
    release()
    await turnsUntil(
      () => got.length === chunks * chunk || errors.length > 0,
      'every event (or an error)',
    )

    // Then the connection stayed, and nothing was reported
    expect(seen.connections).toBe(1)
    expect(errors).toEqual([])
    expect(got).toEqual(range(1, chunks * chunk))

    // And reading on, a stream silent for the idle timeout is still taken for dead
    await clock.advance(idleMs + 1)
    await turnsUntil(() => errors.length > 0, 'the idle timeout')
    expect(isSyncKitError(errors[0], 'timeout')).toBe(true)
    await sub.unsubscribe()
  })

  it('Given a handler running a batch with events read ahead, When unsubscribed from elsewhere, Then no later batch is handed over, and unsubscribe resolves without waiting for that handler (a transport cannot tell this call from one the handler makes on itself, which must not wait for itself)', async () => {
    // Given a handler held on its first batch while the stream brings more
    const { fetch: f } = scripted([[hello('E', '0'), events(1, 3), events(4, 9), events(10, 20)]])
    const got: number[] = []
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    let running = false
    const sub = await client(f).subscribe(async (batch) => {
      running = true
      for (const e of batch) got.push(Number(e.version.toString()))
      await held
      running = false
    })
    await waitFor(() => got.length > 0, 'a first batch')
    await new Promise((resolve) => setTimeout(resolve, 20))

    // When the app unsubscribes while the handler runs
    await sub.unsubscribe()

    // Then unsubscribe resolved with the handler still running, and nothing follows its batch
    expect(running).toBe(true)
    release()
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(running).toBe(false)
    expect(got).toEqual(range(1, 3))
  })
})
