// The event store conformance suite on `sync-kit/indexeddb` in REAL Chromium (Debian's
// /usr/bin/chromium through playwright-core): the page (indexeddb-page.fixture.ts, bundled with
// esbuild, served from 127.0.0.1) registers the suite on the browser's own IndexedDB, and every
// case runs there as one vitest test here, so a failure names its case. Then what only a browser
// shows: a page reload keeps the events and the replica id, and a second tab deleting the
// database closes the store of the first. Part of `npm test`; alone: `npm run test:browser`.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeInChromium, openChromiumPage } from '../../../test/chromium.fixture.js'
import type { ChromiumPage } from '../../../test/chromium.fixture.js'
import { EVENT_STORE_CASES } from '../../testing/index.js'
import type { ConformancePage, PageCaseResult, PageProbe } from './indexeddb-page.fixture.js'

const PAGE = join(import.meta.dirname, 'indexeddb-page.fixture.ts')

type PageGlobal = typeof globalThis & { syncKitPage: ConformancePage }

describeInChromium('IndexedDB store in Chromium', () => {
  let chromium: ChromiumPage | undefined
  beforeAll(async () => {
    chromium = await openChromiumPage(PAGE, 'syncKitPage')
  })
  afterAll(async () => {
    await chromium?.close()
  })

  function session(): ChromiumPage {
    if (chromium === undefined) throw new Error('Chromium did not start (see beforeAll)')
    return chromium
  }

  describe('event store conformance: indexeddb (chromium)', () => {
    it('registers every case of the suite in the page, none skipped', async () => {
      const registered = await session().page.evaluate(() => {
        const page = (globalThis as PageGlobal).syncKitPage
        return { suite: page.suite, cases: page.cases }
      })
      expect(registered.suite).toBe('event store conformance: indexeddb (chromium)')
      expect(registered.cases.map((c) => c.name)).toEqual([...EVENT_STORE_CASES])
      expect(registered.cases.filter((c) => c.skip !== undefined)).toEqual([])
    })

    for (const name of EVENT_STORE_CASES) {
      it(name, async ({ skip }) => {
        const result: PageCaseResult = await session().page.evaluate(
          (caseName) => (globalThis as PageGlobal).syncKitPage.run(caseName),
          name,
        )
        if (result.status === 'skipped') skip(result.message)
        if (result.status === 'failed') {
          throw new Error(`in Chromium, after ${result.ms} ms: ${result.message ?? ''}`)
        }
      })
    }
  })

  it('keeps events and the replica id across a page reload; a deleted database gets a new one', async () => {
    const { page } = session()
    const probe = (name: string, ids: string[]): Promise<PageProbe> =>
      page.evaluate(([db, store]) => (globalThis as PageGlobal).syncKitPage.probe(db, store), [
        name,
        ids,
      ] as const)
    // Given a database with two events
    const before = await probe('reload', ['e1', 'e2'])
    expect(before.ids).toEqual(['e1', 'e2'])
    expect(before.replicaId).toMatch(/^[A-Za-z0-9._~-]{1,64}$/)
    // When the page reloads (a new document, a new JavaScript realm)
    await page.reload()
    await page.waitForFunction(() => 'syncKitPage' in globalThis)
    // Then the same database holds them, under the same replica id, and versions go on
    const after = await probe('reload', ['e3'])
    expect(after).toEqual({ replicaId: before.replicaId, ids: ['e1', 'e2', 'e3'], latest: '3' })
    // And once the database is deleted, it starts afresh under a new replica id
    await page.evaluate(() => (globalThis as PageGlobal).syncKitPage.wipe('reload'))
    const wiped = await probe('reload', [])
    expect(wiped.ids).toEqual([])
    expect(wiped.replicaId).not.toBe(before.replicaId)
  })

  it('closes the store of one tab when another tab deletes the database, saying why', async () => {
    const { page, newPage } = session()
    // Given a tab holding a store open
    await page.evaluate(() => (globalThis as PageGlobal).syncKitPage.hold('shared'))
    // When another tab of the same site deletes the database
    const other = await newPage()
    await other.evaluate(() => (globalThis as PageGlobal).syncKitPage.wipe('shared'))
    await other.close()
    // Then the first tab's store closed itself (else the deletion would still be blocked)
    const closedBy = await page.evaluate(() =>
      (globalThis as PageGlobal).syncKitPage.heldClosedBy(),
    )
    expect(closedBy).toMatch(/another tab .* is deleting the database/)
  })
})
