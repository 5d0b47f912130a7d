import type { Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { SyncLogEntry, SyncLogger } from './logger.js'

/** What the Node adapter refused, before or instead of the handler. */
export interface Refusal {
  /** The request's method, when it was parsed that far. */
  readonly method?: string | undefined
  /** The request's URL (the path is logged, not the query), when parsed. */
  readonly url?: string | undefined
  /** When the request (or connection) started, ms since the Unix epoch. */
  readonly started?: number | undefined
  readonly status: number
  readonly code: string
  readonly message: string
}

/**
 * Writes the log record of a refusal, with the fields of the handler's records (`SyncLogEntry`):
 * `warn` for 4xx, `error` for 5xx; `method` and `path` are empty when Node refused the request
 * before parsing them.
 * @param logger - the logger, or `undefined` for none.
 * @param refusal - what was refused, and why.
 */
export function logRefusal(logger: SyncLogger | undefined, refusal: Refusal): void {
  if (logger === undefined) return
  const now = Date.now()
  const entry: SyncLogEntry = {
    level: refusal.status >= 500 ? 'error' : 'warn',
    time: new Date(now).toISOString(),
    method: refusal.method ?? '',
    path: pathOf(refusal.url),
    status: refusal.status,
    ms: refusal.started === undefined ? 0 : Math.max(0, now - refusal.started),
    code: refusal.code,
    message: refusal.message,
  }
  try {
    logger(entry)
  } catch {
    // A failing logger must not take the server down.
  }
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return ''
  const end = url.search(/[?#]/)
  return (end === -1 ? url : url.slice(0, end)).slice(0, 300)
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
}

/**
 * The answer to a request Node's HTTP parser refused (the server's `clientError` event): the
 * status Node itself would send, a sync-kit error code and a message.
 * @param error - the parser's error.
 * @param component - the message tag.
 * @returns the refusal.
 */
export function clientErrorRefusal(
  error: Error & { code?: string },
  component: string,
): Omit<Refusal, 'method' | 'url' | 'started'> {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'protocol',
        message: `${component} the request headers are too large; send smaller headers (cookies?)`,
      }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        code: 'payload-too-large',
        message: `${component} the chunk extensions of the request body are too large`,
      }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'protocol',
        message: `${component} the request did not arrive in time (headers or body too slow); send it at once`,
      }
    default:
      return {
        status: 400,
        code: 'protocol',
        message: `${component} the request is not valid HTTP/1.1 (${String(error.code ?? 'parse error').slice(0, 60)})`,
      }
  }
}

/**
 * Answers and logs what Node refuses before any handler runs: requests its parser rejects (431
 * headers too large, 400 malformed, 408 headers or body too slow — the `clientError` event, which
 * otherwise answers silently), and connections over `maxConnections` (the `drop` event, logged
 * as 503: they are closed at once, as Node does).
 * @param server - the `node:http` server.
 * @param logger - where records go.
 * @param component - the message tag.
 */
export function answerRefusals(
  server: Server,
  logger: SyncLogger | undefined,
  component: string,
): void {
  // What each connection's current request is, once Node parsed it (for the log's method/path).
  const current = new WeakMap<
    Duplex,
    { method: string | undefined; url: string | undefined; started: number; res: ServerResponse }
  >()
  const opened = new WeakMap<Duplex, number>()
  server.on('connection', (socket: Duplex) => opened.set(socket, Date.now()))
  server.on('request', (req, res) => {
    current.set(req.socket, { method: req.method, url: req.url, started: Date.now(), res })
    res.once('finish', () => current.delete(req.socket))
  })
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    // A client that reset or closed its connection was not refused: there is no one to answer.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    const refusal = clientErrorRefusal(error, component)
    const request = current.get(socket)
    // A response already under way (e.g. a 413 sent before the body ended) cannot be replaced.
    if (request?.res.headersSent !== true) {
      const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } })
      socket.write(
        `HTTP/1.1 ${refusal.status} ${REASONS[refusal.status] ?? 'Bad Request'}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    }
    socket.destroy()
    logRefusal(logger, {
      ...refusal,
      method: request?.method,
      url: request?.url,
      started: request?.started ?? opened.get(socket),
    })
  })
  server.on('drop', (data?: { remoteAddress?: string }) => {
    logRefusal(logger, {
      status: 503,
      code: 'unavailable',
      message: `${component} the server holds maxConnections (${server.maxConnections}) connections; a new connection${data?.remoteAddress === undefined ? '' : ` from ${data.remoteAddress}`} was closed at once`,
    })
  })
}
