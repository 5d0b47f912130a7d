/**
 * Test helper: an HTTP POST the server has provably received but whose body has not been sent,
 * so a test can act (send a signal) while the request is in flight — without sleeping.
 *
 * The request carries `Expect: 100-continue`; `node:http` answers `100 Continue` right before it
 * hands the request to the server's handler, so once the client sees it the request is in flight.
 *
 * @example
 * ```ts
 * import { holdPost } from './held-request.js'
 *
 * const held = holdPost('http://127.0.0.1:8787/v1/events')
 * await held.accepted // the server holds the request now
 * const { status } = await held.finish(JSON.stringify({ events: [] }))
 * ```
 *
 * @module
 */
import { request } from 'node:http'

/** A POST whose body is held back. */
export interface HeldRequest {
  /** Resolves once the server has accepted the request (sent `100 Continue`). */
  readonly accepted: Promise<void>
  /**
   * Settles with the response (status and body text), or rejects when the connection fails
   * (e.g. the server closed it).
   */
  readonly response: Promise<{ readonly status: number; readonly text: string }>
  /**
   * Sends the body and ends the request.
   * @param body - the body text.
   * @returns {@link HeldRequest.response}.
   */
  finish(body: string): Promise<{ readonly status: number; readonly text: string }>
}

/**
 * Starts a JSON POST to `url` on a fresh connection and holds its body back.
 * @param url - the full URL, e.g. `http://127.0.0.1:8787/v1/events`.
 * @returns the held request.
 * @example
 * ```ts
 * import { holdPost } from './held-request.js'
 *
 * const held = holdPost(`${url}/v1/events`)
 * await held.accepted
 * ```
 */
export function holdPost(url: string): HeldRequest {
  let accept!: () => void
  let fail!: (error: unknown) => void
  const accepted = new Promise<void>((resolve, reject) => {
    accept = resolve
    fail = reject
  })
  const req = request(url, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', expect: '100-continue' },
  })
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text }))
      res.once('error', reject)
    })
    req.once('error', (error) => {
      fail(error)
      reject(error)
    })
  })
  // Unobserved rejections are reported by whoever awaits; keep them from being "unhandled".
  accepted.catch(() => undefined)
  response.catch(() => undefined)
  req.once('continue', () => accept())
  req.flushHeaders()
  return {
    accepted,
    response,
    finish: (body) => {
      req.end(body)
      return response
    },
  }
}
