import { afterEach, describe, expect, it, vi } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncKitError } from '../../errors/sync-kit-error.js'
import { createHttpTransport } from './http-transport.js'

// A browser reports a cross-origin request the server does not allow (no CORS headers) as a bare
// network error: fetch rejects with TypeError("Failed to fetch"). The clients then name CORS and
// the flag that fixes it. Simulated here: a page `location` and a fetch that rejects that way.

const PAGE = 'http://localhost:5173'
const SERVER = 'http://127.0.0.1:8787'

afterEach(() => {
  vi.unstubAllGlobals()
})

async function failure(
  url: string,
  error: unknown,
  page: string | undefined,
): Promise<SyncKitError> {
  if (page !== undefined) vi.stubGlobal('location', { origin: page })
  const transport = createHttpTransport({
    url,
    fetch: () => Promise.reject(error),
    retry: { retries: 0 },
  })
  const thrown: unknown = await transport.latestVersion().catch((e: unknown) => e)
  await transport.close()
  if (!isSyncKitError(thrown)) throw new Error(`expected a SyncKitError, got ${String(thrown)}`)
  return thrown
}

const HINT = `is this page's origin allowed by the server (CORS)? sync-kit serve --cors ${PAGE}`

describe('HTTP client: a failed cross-origin fetch in a browser', () => {
  it('Given a page on another origin, When fetch rejects with TypeError, Then unavailable whose message names CORS and sync-kit serve --cors <page origin>', async () => {
    const error = await failure(SERVER, new TypeError('Failed to fetch'), PAGE)
    expect(error.code).toBe('unavailable')
    expect(error.message).toBe(
      `[sync-kit] [http-client] latestVersion: could not reach ${SERVER} (Failed to fetch); check the network and the url; ${HINT}`,
    )
  })

  it('Given the page on the server’s own origin, or no page (Node), or an error that is not a TypeError, When fetch fails, Then no CORS hint', async () => {
    for (const error of [
      await failure(SERVER, new TypeError('Failed to fetch'), SERVER),
      await failure(SERVER, new TypeError('fetch failed'), undefined),
      await failure(SERVER, new Error('ECONNRESET'), PAGE),
    ]) {
      expect(error.code).toBe('unavailable')
      expect(error.message).not.toContain('CORS')
    }
  })
})
