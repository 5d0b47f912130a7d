import { afterEach, describe, expect, it, vi } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitError } from '../../errors/sync-kit-error.js'
import { createWebSocketTransport } from './ws-transport.js'

// A browser WebSocket refused at the upgrade (the server's Origin check answers 403) tells the page
// nothing but a close with 1006; before any welcome, from another origin, the client names CORS and
// the flag that fixes it (as the HTTP client does, src/transports/http/cross-origin-hint.test.ts).

const PAGE = 'http://localhost:5173'
const SERVER = 'http://127.0.0.1:8787'
const HINT = `is this page's origin allowed by the server (CORS)? sync-kit serve --cors ${PAGE}`

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('WebSocket client: a socket closed before its welcome in a browser', () => {
  /** A browser WebSocket the server refused at the upgrade (403): the page sees only 1006. */
  class RefusedWebSocket {
    readonly readyState = 0
    constructor(readonly url: string) {}
    send(): void {
      throw new Error('never open: nothing is sent')
    }
    close(): void {
      // Already closing.
    }
    addEventListener(type: string, listener: (event: { code: number; reason: string }) => void) {
      if (type === 'close') setTimeout(() => listener({ code: 1006, reason: '' }), 0)
    }
  }

  async function wsFailure(page: string): Promise<SyncKitError> {
    vi.stubGlobal('location', { origin: page })
    const transport = createWebSocketTransport({
      url: 'ws://127.0.0.1:8787',
      WebSocket: RefusedWebSocket,
      retry: { retries: 0 },
    })
    const thrown: unknown = await transport.latestVersion().catch((e: unknown) => e)
    await transport.close()
    if (!isSyncKitError(thrown)) throw new Error(`expected a SyncKitError, got ${String(thrown)}`)
    return thrown
  }

  it('Given a page on another origin, When the socket closes with 1006 before the welcome, Then unavailable naming CORS and the flag; the same origin gets no hint', async () => {
    const error = await wsFailure(PAGE)
    expect(error.code).toBe('unavailable')
    expect(error.message).toContain(`closed (1006); reconnecting; ${HINT}`)
    const same = await wsFailure(SERVER)
    expect(same.message).not.toContain('CORS')
  })
})
