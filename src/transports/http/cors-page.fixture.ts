// The page side of the CORS test in Chromium (cors-chromium.browser.int.test.ts), bundled for the
// browser with esbuild: one SyncManager on the HTTP transport that records an event and syncs it
// to a `sync-kit serve` on another origin (another port of 127.0.0.1), reporting what happened.
import { SyncManager, createMemoryStore, isSyncKitError, lastWriteWins } from '../../index.js'
import { createHttpTransport } from './index.js'

/** What one sync from the page saw. */
export type PageSync =
  | { readonly ok: true; readonly pushed: number; readonly pulled: number }
  | { readonly ok: false; readonly code: string; readonly message: string }

/** The page's API, on `globalThis.syncKitCorsPage`. */
export interface CorsPage {
  /** The page's own origin. */
  readonly origin: string
  /**
   * Records one event (of `tenant`, when given) and syncs it to the server at `url`.
   * @param url - the server, on another origin.
   * @param token - the bearer token, if the server wants one.
   * @param tenant - the tenant the event names.
   */
  sync(url: string, token?: string, tenant?: string): Promise<PageSync>
}

let replicas = 0

const page: CorsPage = {
  origin: location.origin,
  async sync(url, token, tenant) {
    const manager = new SyncManager({
      store: createMemoryStore(),
      transport: createHttpTransport({
        url,
        retry: { retries: 0 },
        ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
      }),
      resolver: lastWriteWins(),
      nodeId: `page-${++replicas}`,
    })
    try {
      await manager.record({
        type: 'Noted',
        aggregateId: `note-${replicas}`,
        data: { from: location.origin },
        ...(tenant === undefined ? {} : { metadata: { tenant } }),
      })
      const result = await manager.sync()
      return { ok: true, pushed: result.pushed, pulled: result.pulled }
    } catch (error) {
      return {
        ok: false,
        code: isSyncKitError(error) ? error.code : 'not-a-sync-kit-error',
        message: error instanceof Error ? error.message : String(error),
      }
    } finally {
      await manager.close()
    }
  },
}
;(globalThis as unknown as { syncKitCorsPage: CorsPage }).syncKitCorsPage = page
