// The page side of the Chromium test (ws-chromium.browser.int.test.ts), bundled for the browser
// (esbuild, no Node built-ins: it also proves sync-kit/ws bundles without `ws`): registers the
// transport conformance suite on the browser's own WebSocket, each case's server started on the
// Node side through functions the test exposes to the page, and a live SyncManager scenario.
import { SyncManager, createMemoryStore, liveMode } from '../../index.js'
import { transportConformance } from '../../testing/index.js'
import { createPageSuite } from '../../../test/page-suite.fixture.js'
import type { PageSuite } from '../../../test/page-suite.fixture.js'
import { createWebSocketTransport } from './index.js'

/** What the Node side exposes to the page (`page.exposeFunction`). */
interface NodeSide {
  /** Starts a server (HTTP handler + WebSocket server on 127.0.0.1); its ws:// URL. */
  syncKitStartServer(options: { maxMessageBytes?: number; token?: string }): Promise<string>
  syncKitStopServer(url: string): Promise<void>
}

/** What a live scenario saw. */
export interface LiveProbe {
  /** Events the live replica stored, by id. */
  readonly ids: readonly string[]
  /** The limits the server announced. */
  readonly maxMessageBytes: number | undefined
}

/** The page's API, on `globalThis.syncKitWsPage`. */
export interface WsPage extends Pick<PageSuite, 'suite' | 'cases' | 'run'> {
  /**
   * Two SyncManagers in this page, one live, over WebSocket to a server with a small frame limit
   * and a bearer token: A records `count` events of `size` bytes and syncs; resolves once B has
   * them all.
   */
  live(count: number, size: number): Promise<LiveProbe>
}

const node = globalThis as unknown as NodeSide
const recorded = createPageSuite(10_000)

transportConformance({
  name: 'ws (chromium)',
  test: recorded.test,
  createTransport: async () => {
    const url = await node.syncKitStartServer({})
    const options = { url, retry: { retries: 1, initialMs: 5 } }
    return {
      transport: createWebSocketTransport(options),
      peer: createWebSocketTransport(options),
      cleanup: () => node.syncKitStopServer(url),
    }
  },
})

const page: WsPage = {
  get suite() {
    return recorded.suite
  },
  cases: recorded.cases,
  run: (name) => recorded.run(name),
  async live(count, size) {
    const url = await node.syncKitStartServer({ maxMessageBytes: 8192, token: 'page-token' })
    const headers = { authorization: 'Bearer page-token' }
    const ta = createWebSocketTransport({ url, headers })
    const tb = createWebSocketTransport({ url, headers: () => headers })
    const a = new SyncManager({ store: createMemoryStore(), transport: ta, nodeId: 'page-a' })
    const store = createMemoryStore()
    const b = new SyncManager({
      store,
      transport: tb,
      nodeId: 'page-b',
      features: [liveMode()],
      intervalMs: 3_600_000,
    })
    try {
      b.start()
      for (let i = 0; i < count; i++) {
        await a.record({
          type: 'Typed',
          aggregateId: `doc-${i % 3}`,
          data: { text: 'z'.repeat(size) },
        })
      }
      await a.sync()
      const deadline = Date.now() + 10_000
      while ((await store.load(null)).length < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return {
        ids: (await store.load(null)).map((item) => item.event.id),
        maxMessageBytes: ta.limits?.maxMessageBytes,
      }
    } finally {
      await b.close()
      await a.close()
      await ta.close()
      await tb.close()
      await node.syncKitStopServer(url)
    }
  },
}
;(globalThis as unknown as { syncKitWsPage: WsPage }).syncKitWsPage = page
