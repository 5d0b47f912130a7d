// Requests the Node adapter refuses itself — before the handler (Node's parser: headers too large,
// malformed, too slow; connections over the limit) or instead of it (a body that stopped
// arriving, a shutdown under way) — are answered and logged like every other request (issue 10).
import { createServer } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../stores/memory/index.js'
import type { SyncLogEntry } from './logger.js'
import { createNodeListener, serve } from './node.js'
import type { RunningServer, ServeOptions } from './node.js'
import { createSyncHandler } from './sync-handler.js'

const running: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop().catch(() => undefined)
})

async function start(
  options: Partial<ServeOptions> = {},
): Promise<{ server: RunningServer; records: SyncLogEntry[] }> {
  const records: SyncLogEntry[] = []
  const logger = (entry: SyncLogEntry): void => {
    records.push(entry)
  }
  const server = await serve({
    handler: createSyncHandler({ store: createMemoryStore(), logger }),
    port: 0,
    logger,
    closeTimeoutMs: 500,
    ...options,
  })
  running.push(() => server.close())
  return { server, records }
}

/** A raw connection: what it receives, and when it closes. */
function rawConnection(port: number): {
  socket: Socket
  received: () => string
  closed: Promise<void>
} {
  const socket = connect(port, '127.0.0.1')
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (text += chunk))
  socket.on('error', () => undefined)
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  running.push(async () => socket.destroy())
  return { socket, received: () => text, closed }
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('refusals before the handler are answered and logged', () => {
  it('Given headers over Node’s limit, When sent, Then 431 and a warn record with the same fields as a request record', async () => {
    const { server, records } = await start()
    const raw = rawConnection(server.port)
    raw.socket.write(`GET /v1/version HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`)

    await raw.closed

    expect(raw.received()).toMatch(/^HTTP\/1\.1 431 /)
    expect(raw.received()).toContain('"code":"protocol"')
    const record = records.find((r) => r.status === 431)
    expect(record).toMatchObject({ level: 'warn', method: '', path: '', code: 'protocol' })
    expect(Object.keys(record ?? {}).sort()).toEqual(
      ['code', 'level', 'message', 'method', 'ms', 'path', 'status', 'time'].sort(),
    )
  })

  it('Given a malformed request line, When sent, Then 400 and a record', async () => {
    const { server, records } = await start()
    const raw = rawConnection(server.port)
    raw.socket.write('NOT HTTP AT ALL\r\n\r\n')

    await raw.closed

    expect(raw.received()).toMatch(/^HTTP\/1\.1 400 /)
    expect(records.find((r) => r.status === 400)).toMatchObject({ level: 'warn', code: 'protocol' })
  })

  it('Given headers that trickle in (slowloris), When the header timeout passes, Then 408, the connection is closed and the refusal logged', async () => {
    const { server, records } = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 })
    const raw = rawConnection(server.port)
    raw.socket.write('GET /v1/version HTTP/1.1\r\nHost: x\r\n')
    const started = Date.now()

    await raw.closed

    expect(Date.now() - started).toBeLessThan(3000)
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(records.find((r) => r.status === 408)).toMatchObject({ level: 'warn' })
  })

  it('Given a push whose body stops arriving, When the body idle timeout passes, Then 408 from the handler, the connection closes, and the record names the route', async () => {
    const { server, records } = await start({ bodyIdleTimeoutMs: 200 })
    const raw = rawConnection(server.port)
    raw.socket.write(
      'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"events":[',
    )

    await raw.closed

    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(raw.received()).toContain('stopped arriving')
    expect(records.find((r) => r.status === 408)).toMatchObject({
      method: 'POST',
      path: '/v1/events',
      level: 'warn',
    })
  })

  it('Given maxConnections 2 and two open connections, When a third connects, Then Node closes it at once and a 503 record says why', async () => {
    const { server, records } = await start({ maxConnections: 2 })
    const first = rawConnection(server.port)
    const second = rawConnection(server.port)
    let open = 0
    await until(() => {
      server.server.getConnections((_error, count) => (open = count))
      return open === 2
    }, 'two accepted connections')
    const third = rawConnection(server.port)

    await third.closed

    await until(() => records.some((r) => r.status === 503), 'the drop record')
    expect(records.find((r) => r.status === 503)).toMatchObject({
      level: 'error',
      code: 'unavailable',
      message: expect.stringContaining('maxConnections (2)'),
    })
    first.socket.destroy()
    second.socket.destroy()
  })

  it('Given a listener shutting down, When a request arrives, Then 503 with Retry-After, logged', async () => {
    const records: SyncLogEntry[] = []
    const listener = createNodeListener(createSyncHandler({ store: createMemoryStore() }), {
      logger: (entry) => records.push(entry),
    })
    const server = createServer(listener)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    running.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    )
    const { port } = server.address() as AddressInfo
    const closing = listener.close(1000)

    const response = await fetch(`http://127.0.0.1:${port}/v1/version`)
    await closing

    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    expect(records).toMatchObject([
      { status: 503, code: 'unavailable', method: 'GET', path: '/v1/version', level: 'error' },
    ])
  })
})
