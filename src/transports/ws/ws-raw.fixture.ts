// Helpers of the WebSocket wire's tests on real sockets: servers and clients torn down after each
// test, polling for a condition, a raw socket that says hello and records what it receives, and
// bearer-token tenants for the handler.
import { afterEach } from 'vitest'
import { WebSocket } from 'ws'
import { startWsServer, wsClient } from '../../../test/ws.fixture.js'
import type { WsTestServer } from '../../../test/ws.fixture.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { WS_SUBPROTOCOL } from './protocol.js'
import type { WebSocketTransport } from './ws-transport.js'

/**
 * Waits until `check` holds, polling every 5 ms.
 * @param check - the condition.
 * @param what - names it in the timeout's message.
 * @param ms - how long to wait.
 * @throws Error once `ms` passed.
 */
export async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A raw socket after its hello, and what it received. */
export interface RawSocket {
  readonly socket: WebSocket
  /** Every message received, parsed, the welcome (or the hello's refusal) first. */
  readonly messages: Record<string, unknown>[]
  /** How the socket closed, once it did. */
  closed(): { code: number; reason: string } | undefined
}

/**
 * Opens a raw socket to `<url>/v1/ws`, sends the hello and waits for the answer.
 * @param url - the server's ws:// URL.
 * @param cleanup - registers the socket's teardown (terminate).
 * @param headers - the hello's headers.
 * @returns the socket and its messages.
 */
export async function rawSocket(
  url: string,
  cleanup: (stop: () => Promise<void>) => void,
  headers: Record<string, string> = {},
): Promise<RawSocket> {
  const socket = new WebSocket(`${url}/v1/ws`, [WS_SUBPROTOCOL])
  const messages: Record<string, unknown>[] = []
  let closed: { code: number; reason: string } | undefined
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as never))
  socket.on('close', (code: number, reason: Buffer) => {
    closed = { code, reason: reason.toString() }
  })
  socket.on('error', () => undefined)
  cleanup(async () => socket.terminate())
  await new Promise((resolve) => socket.once('open', resolve))
  socket.send(JSON.stringify({ type: 'hello', protocol: 1, headers }))
  await waitFor(() => messages.length > 0 || closed !== undefined, 'the welcome')
  return { socket, messages, closed: () => closed }
}

/**
 * Handler options where `Authorization: Bearer <tenant>` is the principal and its tenant.
 * @returns `authorize` and `tenantOf`.
 */
export function bearerTenants(): {
  authorize: (request: Request) => Promise<string>
  tenantOf: (principal: unknown) => string
} {
  return {
    authorize: async (request) => {
      const token = request.headers.get('authorization') ?? ''
      if (!token.startsWith('Bearer ')) throw new SyncKitError('unauthorized', 'bad token', {})
      return token.slice(7)
    },
    tenantOf: (principal) => principal as string,
  }
}

/** What a test file starts, torn down after each test (the last started first). */
export interface Teardowns {
  /** Teardowns of the current test; push more. */
  readonly running: (() => Promise<void>)[]
  /** Starts a server (`startWsServer`), closed after the test. */
  server(options?: Parameters<typeof startWsServer>[0]): Promise<WsTestServer>
  /** A client (`wsClient`), closed after the test. */
  client(url: string, options?: Parameters<typeof wsClient>[1]): WebSocketTransport
  /** A raw socket ({@link rawSocket}), terminated after the test. */
  rawSocket(url: string, headers?: Record<string, string>): Promise<RawSocket>
}

/**
 * Registers an `afterEach` that tears down what each test started.
 * @returns the starters.
 */
export function teardowns(): Teardowns {
  const running: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const stop of running.splice(0).reverse()) await stop().catch(() => undefined)
  })
  return {
    running,
    async server(options = {}) {
      const started = await startWsServer(options)
      running.push(() => started.close())
      return started
    },
    client(url, options = {}) {
      const transport = wsClient(url, options)
      running.push(() => transport.close())
      return transport
    },
    rawSocket: (url, headers = {}) => rawSocket(url, (stop) => running.push(stop), headers),
  }
}

/**
 * The welcome of a fake server (epoch `e`, small limits), for tests of the client against servers
 * that misbehave after it.
 * @param heartbeatMs - the announced heartbeat.
 * @param idleTimeoutMs - the announced idle timeout.
 * @returns the message's JSON.
 */
export function fakeWelcome(heartbeatMs: number, idleTimeoutMs: number): string {
  return JSON.stringify({
    type: 'welcome',
    protocol: 1,
    epoch: 'e',
    latestVersion: '0',
    heartbeatMs,
    idleTimeoutMs,
    limits: {
      maxMessageBytes: 1000,
      maxBatchEvents: 10,
      maxEventBytes: 1000,
      maxPageLimit: 10,
      maxPageBytes: 1000,
      maxSubscriptions: 1,
    },
  })
}
