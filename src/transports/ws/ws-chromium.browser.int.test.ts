// The WebSocket client (sync-kit/ws) in REAL Chromium (Debian's /usr/bin/chromium through
// playwright-core), on the browser's own WebSocket: the page (ws-page.fixture.ts, bundled with
// esbuild, served from 127.0.0.1) registers the transport conformance suite, each case against a
// fresh server that this side starts on 127.0.0.1 when the page asks (page.exposeFunction), and
// every case runs there as one vitest test here. Then a live scenario: two SyncManagers in the
// page, auth by a header in the hello (a browser cannot set upgrade headers), pushes split to a
// small frame limit. Part of `npm test`; alone: `npm run test:browser`.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeInChromium, openChromiumPage } from '../../../test/chromium.fixture.js'
import type { ChromiumPage } from '../../../test/chromium.fixture.js'
import { startWsServer } from '../../../test/ws.fixture.js'
import type { WsTestServer } from '../../../test/ws.fixture.js'
import type { PageCaseResult } from '../../../test/page-suite.fixture.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { TRANSPORT_CASES } from '../../testing/index.js'
import type { WsPage } from './ws-page.fixture.js'

const PAGE = join(import.meta.dirname, 'ws-page.fixture.ts')

type PageGlobal = typeof globalThis & { syncKitWsPage: WsPage }

describeInChromium('WebSocket transport in Chromium', () => {
  let chromium: ChromiumPage | undefined
  const servers = new Map<string, WsTestServer>()
  beforeAll(async () => {
    chromium = await openChromiumPage(PAGE, 'syncKitWsPage')
    await chromium.page.exposeFunction(
      'syncKitStartServer',
      async (options: { maxMessageBytes?: number; token?: string }) => {
        const { token } = options
        // The page is served from another port (origin): the server must allow it, as a real
        // deployment would with --cors, or it refuses the upgrade (403).
        const cors = { origins: [new URL(session().url).origin] }
        const server = await startWsServer({
          ws:
            options.maxMessageBytes === undefined
              ? {}
              : { maxMessageBytes: options.maxMessageBytes },
          handler:
            token === undefined
              ? { cors }
              : {
                  cors,
                  authorize: async (request) => {
                    if (request.headers.get('authorization') !== `Bearer ${token}`) {
                      throw new SyncKitError('unauthorized', 'bad token', {})
                    }
                    return undefined
                  },
                },
        })
        servers.set(server.url, server)
        return server.url
      },
    )
    await chromium.page.exposeFunction('syncKitStopServer', async (url: string) => {
      await servers.get(url)?.close()
      servers.delete(url)
    })
  })
  afterAll(async () => {
    await chromium?.close()
    for (const server of servers.values()) await server.close()
  })

  function session(): ChromiumPage {
    if (chromium === undefined) throw new Error('Chromium did not start (see beforeAll)')
    return chromium
  }

  describe('transport conformance: ws (chromium)', () => {
    it('registers every case of the suite in the page, none skipped', async () => {
      const registered = await session().page.evaluate(() => {
        const page = (globalThis as PageGlobal).syncKitWsPage
        return { suite: page.suite, cases: page.cases }
      })
      expect(registered.suite).toBe('transport conformance: ws (chromium)')
      expect(registered.cases.map((c) => c.name)).toEqual([...TRANSPORT_CASES])
      expect(registered.cases.filter((c) => c.skip !== undefined)).toEqual([])
    })

    for (const name of TRANSPORT_CASES) {
      it(name, async () => {
        const result: PageCaseResult = await session().page.evaluate(
          (caseName) => (globalThis as PageGlobal).syncKitWsPage.run(caseName),
          name,
        )
        if (result.status !== 'passed') {
          throw new Error(`in Chromium, after ${result.ms} ms: ${result.message ?? ''}`)
        }
      })
    }
  })

  it('Given two SyncManagers in the page, one live, When A syncs a batch far over the frame limit, Then B stores every event, authenticated by the hello header', async () => {
    const probe = await session().page.evaluate(() =>
      (globalThis as PageGlobal).syncKitWsPage.live(60, 500),
    )
    expect(probe.maxMessageBytes).toBe(8192)
    expect(probe.ids).toHaveLength(60)
    // The page server has no favicon; anything else the page threw or logged is a failure.
    const errors = session().pageErrors.filter((e) => !e.startsWith('Failed to load resource'))
    expect(errors, errors.join('\n')).toEqual([])
  })
})
