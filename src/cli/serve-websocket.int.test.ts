// `sync-kit serve` and WebSocket clients (sync-kit/ws) on the same port, in process: the listening
// record names the endpoint, a WebSocket push is read back over HTTP, a live subscriber is closed
// with 1001 on SIGTERM without holding up the shutdown, and --no-websocket refuses upgrades.
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { createWebSocketTransport } from '../transports/ws/ws-transport.js'
import { WS_SUBPROTOCOL } from '../transports/ws/protocol.js'
import { serveInProcess } from './serve-in-process.fixture.js'
import type { ServedInProcess } from './serve-in-process.fixture.js'

const started: ServedInProcess[] = []
afterEach(() => {
  for (const server of started.splice(0)) server.remove()
})

/** Runs `sync-kit serve` with `args` on a fresh SQLite file, removed after the test. */
async function start(args: string[]): Promise<ServedInProcess> {
  const server = await serveInProcess(args)
  started.push(server)
  return server
}

describe('sync-kit serve: WebSocket clients on the same port', () => {
  it('Given serve under a base path, When a WebSocket client pushes and subscribes, Then HTTP reads the push, and SIGTERM closes the subscriber with 1001 and stops at once', async () => {
    const served = await start(['--base-path', '/sync'])
    const url = served.listening['url'] as string
    expect(served.listening['websocket']).toBe(`${url.replace(/^http/, 'ws')}/v1/ws`)
    const transport = createWebSocketTransport({
      url,
      WebSocket,
      retry: { retries: 0 },
      timeoutMs: 5000,
    })
    try {
      const errors: unknown[] = []
      await transport.subscribe(() => undefined, { onError: (e) => errors.push(e) })
      const pushed = await transport.push([{ id: 'w1', type: 'T', aggregateId: 'a', data: {} }])
      expect(pushed).toMatchObject({ stored: 1, epoch: served.listening['epoch'] })
      const page = (await (await fetch(`${url}/v1/events`)).json()) as { events: unknown[] }
      expect(page.events).toHaveLength(1)
      const started = Date.now()
      expect(await served.stop()).toBe(0)
      expect(Date.now() - started).toBeLessThan(3000)
      expect(errors.some((e) => isSyncKitError(e, 'unavailable') && /1001/.test(e.message))).toBe(
        true,
      )
      const logged = served.records.filter(
        (r) => r['msg'] === 'request' && r['stream'] === 'closed',
      )
      expect(logged.length).toBeGreaterThan(0)
    } finally {
      await transport.close()
    }
  })

  it('Given serve --no-websocket, When a client asks for the upgrade, Then it is refused and the listening record names no WebSocket endpoint', async () => {
    const served = await start(['--no-websocket'])
    try {
      expect(served.listening['websocket']).toBeUndefined()
      const socket = new WebSocket(
        `${(served.listening['url'] as string).replace(/^http/, 'ws')}/v1/ws`,
        [WS_SUBPROTOCOL],
      )
      const outcome = await new Promise<string>((resolve) => {
        socket.on('open', () => resolve('open'))
        socket.on('error', () => resolve('refused'))
      })
      socket.terminate()
      expect(outcome).toBe('refused')
    } finally {
      expect(await served.stop()).toBe(0)
    }
  })
})
