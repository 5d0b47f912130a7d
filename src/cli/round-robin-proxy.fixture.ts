// A small round-robin HTTP load balancer for tests, on 127.0.0.1: each request goes to the next
// backend, bodies and responses are streamed both ways (Server-Sent Events included, unbuffered),
// a backend that refuses the connection is skipped (nothing was sent to it yet), and a backend
// that dies mid-request cuts the client's connection, as a real proxy does: the client does not
// know whether its push was stored and retries (duplicates cost nothing).
import { createServer, request as httpRequest } from 'node:http'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** A running proxy. */
export interface RoundRobinProxy {
  /** Where clients connect. */
  readonly url: string
  /** Requests sent to each backend, by index. */
  readonly routed: number[]
  /** Stops accepting and cuts every open connection. */
  close(): Promise<void>
}

/** Response headers that belong to one connection, not to the response. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade'])

/**
 * Starts the proxy.
 * @param backends - base URLs (`http://127.0.0.1:port`).
 * @returns the proxy, once it listens.
 */
export async function startRoundRobinProxy(backends: readonly string[]): Promise<RoundRobinProxy> {
  const routed = backends.map(() => 0)
  let next = 0
  const sockets = new Set<Socket>()

  const forward = (req: IncomingMessage, res: ServerResponse, attempt: number): void => {
    const index = next++ % backends.length
    const target = new URL(req.url ?? '/', backends[index])
    const headers: OutgoingHttpHeaders = { ...req.headers, host: target.host }
    delete headers['connection']
    const upstream = httpRequest(target, { method: req.method, headers, agent: false })
    let sent = false
    upstream.on('socket', (socket) => {
      socket.once('connect', () => {
        sent = true
        routed[index] = (routed[index] ?? 0) + 1
        req.pipe(upstream)
      })
    })
    upstream.on('response', (answer) => {
      const out: OutgoingHttpHeaders = {}
      for (const [key, value] of Object.entries(answer.headers)) {
        if (!HOP_BY_HOP.has(key) && value !== undefined) out[key] = value
      }
      res.writeHead(answer.statusCode ?? 502, out)
      res.flushHeaders()
      answer.pipe(res)
      answer.on('error', () => res.destroy())
      answer.on('aborted', () => res.destroy())
    })
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (!sent && error.code === 'ECONNREFUSED' && attempt < backends.length) {
        forward(req, res, attempt + 1)
        return
      }
      // The backend went away mid-request: the client sees its connection cut.
      res.destroy()
      req.destroy()
    })
    // The client left (a stream it closed): stop the backend's side too.
    res.on('close', () => upstream.destroy())
  }

  const server = createServer((req, res) => forward(req, res, 1))
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    routed,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}
