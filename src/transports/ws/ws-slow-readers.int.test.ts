// Slow and stalled readers on real sockets (127.0.0.1) against a server writing many live events:
// what the server buffers per socket stays under its maxBufferedBytes, a reader that passes it is
// closed with 1013 (not queued without bound), well-behaved clients on the same server keep
// syncing, and a stalled client, once it reads again, converges exactly once from its cursor.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createMemoryStore } from '../../stores/memory/index.js'
import { SyncManager } from '../../sync/sync-manager.js'
import type { EventWithVersion } from '../../types/index.js'
import { WS_CLOSE, WS_SUBPROTOCOL } from './protocol.js'
import { teardowns, waitFor } from './ws-raw.fixture.js'

const { running, server, client } = teardowns()

/** Every socket this test opens as a client; the others in this process are the server's. */
const clientSockets = new WeakSet<object>()
/** The most any server-side socket had queued (`bufferedAmount`) right after a send. */
let serverBufferedPeak = 0
const originalSend = WebSocket.prototype.send
beforeEach(() => {
  serverBufferedPeak = 0
  // A socket's queue only grows by a send: its peak is right after one.
  WebSocket.prototype.send = function (this: WebSocket, ...args: Parameters<WebSocket['send']>) {
    originalSend.apply(this, args)
    if (!clientSockets.has(this)) {
      serverBufferedPeak = Math.max(serverBufferedPeak, this.bufferedAmount)
    }
  } as WebSocket['send']
})
afterEach(() => {
  WebSocket.prototype.send = originalSend
})

/** The `ws` client WebSocket, recorded as a client socket (and kept, to pause it). */
function recordingSocket(
  opened: WebSocket[] = [],
): new (url: string, protocols: string[]) => WebSocket {
  return class RecordingSocket extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols)
      clientSockets.add(this)
      opened.push(this)
    }
  }
}

const event = (id: string, size: number) => ({
  id,
  type: 'Noted',
  aggregateId: `a-${id}`,
  data: { text: 'x'.repeat(size) },
})

/** Pushes `pushes` batches of `perPush` events of ~`size` bytes, ids `<prefix><i>-<j>`. */
async function write(
  pusher: { push: (events: ReturnType<typeof event>[]) => Promise<unknown> },
  pushes: number,
  perPush: number,
  size: number,
  prefix = 'w',
): Promise<void> {
  for (let i = 0; i < pushes; i++) {
    await pusher.push(Array.from({ length: perPush }, (_, j) => event(`${prefix}${i}-${j}`, size)))
  }
}

const ids = (items: readonly EventWithVersion[]): string[] => items.map((e) => e.event.id)

describe('ws: a stalled reader against a server writing many events', () => {
  it('Given a raw client that subscribes, stops reading and acks blindly (so the ack does not hold its feed back), When ~16 MB of events are written, Then the server never queues more than maxBufferedBytes to any socket, closes the stalled one with 1013, and a live subscriber and a SyncManager on the same server get every event', async () => {
    const maxBufferedBytes = 256 * 1024
    const srv = await server({
      handler: { maxPageBytes: 64 * 1024 },
      ws: { maxBufferedBytes },
    })
    const Recording = recordingSocket()
    // The stalled client: hello, subscribe, then it stops reading its socket for good.
    const stalled = new Recording(`${srv.url}/v1/ws`, [WS_SUBPROTOCOL])
    running.push(async () => stalled.terminate())
    const received: Record<string, unknown>[] = []
    let closed: number | undefined
    stalled.on('message', (data: Buffer) => received.push(JSON.parse(data.toString()) as never))
    stalled.on('close', (code: number) => (closed = code))
    stalled.on('error', () => undefined)
    await new Promise((resolve) => stalled.once('open', resolve))
    stalled.send(JSON.stringify({ type: 'hello', protocol: 1 }))
    await waitFor(() => received.length === 1, 'the welcome')
    stalled.send(JSON.stringify({ type: 'subscribe', id: 1 }))
    await waitFor(() => received.length === 2, 'the subscribe answer')
    expect(received[1]?.['type']).toBe('result')
    stalled.pause()
    // Acks for batches it never read: the server's flow control cannot hold its feed back.
    const acking = setInterval(() => stalled.send('{"type":"ack","sub":1}'), 1)
    running.push(async () => clearInterval(acking))

    // Well-behaved clients on the same server.
    const live = client(srv.url, { WebSocket: Recording })
    const got: EventWithVersion[] = []
    await live.subscribe((batch) => void got.push(...batch))
    const manager = new SyncManager({
      store: createMemoryStore(),
      transport: client(srv.url, { WebSocket: Recording }),
      nodeId: 'well-behaved',
    })
    running.push(() => manager.close())

    const pusher = client(srv.url, { WebSocket: Recording })
    // 80 pushes of 50 events of 4 KB: ~16 MB, far past the socket's bound and the kernel's buffers.
    await write(pusher, 80, 50, 4000)
    await waitFor(() => got.length === 4000, 'the live subscriber', 60_000)
    expect(new Set(ids(got)).size).toBe(4000)
    expect((await manager.sync()).pulled).toBe(4000)

    // The stalled socket was cut: its session is gone (no live slot held), and reading again it
    // finds the close for a slow reader behind what was queued.
    expect(serverBufferedPeak).toBeGreaterThan(0)
    expect(serverBufferedPeak).toBeLessThanOrEqual(maxBufferedBytes)
    expect(srv.handler.endpoint.liveSlots.taken).toBe(1)
    clearInterval(acking)
    stalled.resume()
    await waitFor(() => closed !== undefined, 'the close', 30_000)
    expect(closed).toBe(WS_CLOSE.slowConsumer)
    // What reached it before the cut is a prefix of the log: nothing out of order, nothing twice.
    const delivered = received
      .filter((m) => m['type'] === 'events')
      .flatMap((m) => (m['events'] as { event: { id: string } }[]).map((e) => e.event.id))
    expect(delivered.length).toBeLessThan(4000)
    expect(delivered).toEqual(ids(got).slice(0, delivered.length))
  })

  it('Given a live subscriber whose socket stops reading while ~2,000 events are written, When it reads again, Then the server held at most a batch for it meanwhile, its socket is replaced for idleness and it converges exactly once, in order, from its cursor', async () => {
    const maxBufferedBytes = 256 * 1024
    const srv = await server({
      // A short heartbeat: the stalled socket, answering no ping, is found idle and cut.
      handler: { maxPageBytes: 64 * 1024, heartbeatMs: 100 },
      ws: { maxBufferedBytes },
    })
    const opened: WebSocket[] = []
    const slow = client(srv.url, { WebSocket: recordingSocket(opened) })
    const got: EventWithVersion[] = []
    const errors: unknown[] = []
    await slow.subscribe((batch) => void got.push(...batch), { onError: (e) => errors.push(e) })
    const pusher = client(srv.url, { WebSocket: recordingSocket() })
    await write(pusher, 1, 10, 100, 'first')
    await waitFor(() => got.length === 10, 'the first events')

    opened[0]?.pause()
    await write(pusher, 40, 50, 1000)
    const other: EventWithVersion[] = []
    const well = client(srv.url, { WebSocket: recordingSocket() })
    await well.subscribe((batch) => void other.push(...batch), { since: well.parseVersion('0') })
    await waitFor(() => other.length === 2010, 'a well-behaved subscriber')
    // Stalled past the idle timeout: the socket, bringing nothing (not even a ping), is taken for
    // dead and the subscription resumes on a new one, from its cursor.
    await waitFor(() => opened.length >= 2, 'the stalled socket to be replaced')
    opened[0]?.resume()

    await waitFor(() => got.length >= 2010, 'the stalled subscriber', 30_000)
    await pusher.push([event('after', 10)])
    await waitFor(() => got.length === 2011 && other.length === 2011, 'the event after it')
    expect(ids(got)).toEqual(ids(other))
    expect(new Set(ids(got)).size).toBe(2011)
    const versions = got.map((e) => Number(e.version.toString()))
    expect(versions).toEqual([...versions].sort((a, b) => a - b))
    // The ack held its feed back: the server queued a batch (maxPageBytes) for a socket at most,
    // not its bound.
    expect(serverBufferedPeak).toBeLessThanOrEqual(2 * 64 * 1024)
    expect(errors.length).toBeGreaterThan(0)
  })
})
