// Tabs of one app in REAL Chromium (Debian's /usr/bin/chromium through playwright-core): pages
// of one browser context are tabs of one origin, with real Web Locks, one IndexedDB database and
// BroadcastChannel. Only one tab leads (runInOneTab) and another takes over when it closes; every
// tab sees every change (watchChanges); tabs recording at once under sharedReplica() give every
// event a dot of its own. Part of `npm test`; alone: `npm run test:browser`.
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeInChromium, openChromiumPage } from '../../../test/chromium.fixture.js'
import type { ChromiumPage } from '../../../test/chromium.fixture.js'
import type { TabsPage } from './tabs-page.fixture.js'

const PAGE = join(import.meta.dirname, 'tabs-page.fixture.ts')

type TabsGlobal = typeof globalThis & { syncKitTabs: TabsPage }

/** Polls `read` in the page until it returns true. */
async function until(page: Page, read: () => boolean, what: string): Promise<void> {
  await page.waitForFunction(read, undefined, { timeout: 10_000 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`)
  })
}

describeInChromium('tabs of one app in Chromium', () => {
  let chromium: ChromiumPage | undefined
  beforeAll(async () => {
    chromium = await openChromiumPage(PAGE, 'syncKitTabs')
  })
  afterAll(async () => {
    await chromium?.close()
  })

  function session(): ChromiumPage {
    if (chromium === undefined) throw new Error('Chromium did not start (see beforeAll)')
    return chromium
  }

  it('Given two tabs asking to lead, Then only the first runs; When it closes, Then the other takes over', async () => {
    const { page: first, newPage } = session()
    const second = await newPage()
    await first.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.lead('sync'))
    await until(
      first,
      () => (globalThis as TabsGlobal).syncKitTabs.leading(),
      'the first tab to lead',
    )
    await second.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.lead('sync'))
    // The second tab waits: give it time to (wrongly) lead too.
    await second.waitForTimeout(300)
    expect(await second.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.leading())).toBe(
      false,
    )
    expect(await first.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.leading())).toBe(true)
    // When the leading tab closes, the browser releases its lock
    const third = await newPage()
    await first.close()
    await until(
      second,
      () => (globalThis as TabsGlobal).syncKitTabs.leading(),
      'the second tab to take over',
    )
    // A third tab still waits
    await third.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.lead('sync'))
    await third.waitForTimeout(200)
    expect(await third.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.leading())).toBe(false)
    await second.close()
    await until(
      third,
      () => (globalThis as TabsGlobal).syncKitTabs.leading(),
      'the third tab to take over',
    )
    await third.close()
  })

  it('Given two tabs of one replica, When both record at once, Then each sees every change and every event has a dot of its own', async () => {
    const { newPage } = session()
    const [a, b] = [await newPage(), await newPage()]
    const ids = await Promise.all(
      [a, b].map((tab) =>
        tab.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.open('replica')),
      ),
    )
    expect(ids[1]).toBe(ids[0])
    await Promise.all(
      [a, b].map((tab) => tab.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.record(10))),
    )
    for (const tab of [a, b]) {
      await until(
        tab,
        () => (globalThis as TabsGlobal).syncKitTabs.seen().length === 20,
        'all 20 changes',
      )
    }
    const dots = await a.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.dots())
    expect(dots).toHaveLength(20)
    expect(new Set(dots).size).toBe(20)
    expect(dots).toEqual(dots.map((_, i) => `${ids[0]}:${i + 1}`))
    // Both tabs saw the same changes, in the same (log) order.
    const seen = await Promise.all(
      [a, b].map((tab) => tab.evaluate(() => (globalThis as TabsGlobal).syncKitTabs.seen())),
    )
    expect(seen[1]).toEqual(seen[0])
    await a.close()
    await b.close()
  })
})
