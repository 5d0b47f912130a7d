// The WebSocket server's Origin check on real sockets (127.0.0.1): browsers send Origin on an
// upgrade and CORS does not cover WebSockets, so the server applies the HTTP handler's cors
// origins itself — one origin check for both wires (server/origins.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { startWsServer } from '../../../test/ws.fixture.js'
import type { WsTestServer } from '../../../test/ws.fixture.js'
import type { SyncHandlerOptions } from '../http/sync-handler.js'
import { WS_SUBPROTOCOL } from './protocol.js'

const running: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop().catch(() => undefined)
})

async function server(handler: Partial<SyncHandlerOptions> = {}): Promise<WsTestServer> {
  const started = await startWsServer({ handler })
  running.push(() => started.close())
  return started
}

type Upgrade = { opened: true } | { opened: false; status: number; body: string }

/** Opens a socket as a browser page of `origin` would (undefined: a non-browser client). */
async function upgrade(srv: WsTestServer, origin: string | undefined): Promise<Upgrade> {
  const socket = new WebSocket(`${srv.url}/v1/ws`, [WS_SUBPROTOCOL], {
    ...(origin === undefined ? {} : { origin }),
  })
  running.push(async () => socket.terminate())
  return new Promise<Upgrade>((resolve) => {
    socket.once('open', () => resolve({ opened: true }))
    socket.once('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString()))
      response.on('end', () => resolve({ opened: false, status: response.statusCode ?? 0, body }))
    })
    socket.on('error', () => undefined)
  })
}

describe('ws: the Origin of an upgrade', () => {
  it('Given a handler without cors, When a page of another origin upgrades, Then 403 forbidden naming --cors; clients without Origin and same-host pages connect', async () => {
    const srv = await server()
    const refused = await upgrade(srv, 'http://localhost:5173')
    expect(refused).toMatchObject({ opened: false, status: 403 })
    const body = JSON.parse((refused as { body: string }).body) as {
      error: { code: string; message: string }
    }
    expect(body.error.code).toBe('forbidden')
    expect(body.error.message).toContain('origin "http://localhost:5173" may not open a WebSocket')
    expect(body.error.message).toContain('sync-kit serve --cors http://localhost:5173')
    expect(await upgrade(srv, undefined)).toEqual({ opened: true })
    // A page served by this host itself (or through the same proxy host) needs no allowance.
    expect(await upgrade(srv, srv.httpUrl)).toEqual({ opened: true })
    expect(srv.ws.sockets).toBe(2)
  })

  it("Given cors origins, When pages upgrade, Then listed origins connect and others get 403; '*' lets every origin in", async () => {
    const listed = await server({ cors: { origins: ['http://localhost:5173'] } })
    expect(await upgrade(listed, 'http://localhost:5173')).toEqual({ opened: true })
    expect(await upgrade(listed, 'http://localhost:5174')).toMatchObject({
      opened: false,
      status: 403,
    })
    expect(await upgrade(listed, 'null')).toMatchObject({ opened: false, status: 403 })
    const any = await server({ cors: { origins: '*' } })
    expect(await upgrade(any, 'https://anyone.example')).toEqual({ opened: true })
  })
})
