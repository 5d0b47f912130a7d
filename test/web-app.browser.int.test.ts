// The web todo app (examples/web/) end to end in REAL Chromium: Debian's /usr/bin/chromium driven by
// playwright-core, the app built with esbuild and served as `npm run demo:web` serves it (a page
// server, and `sync-kit serve --cors <page origin>` on a SQLite file), both on free 127.0.0.1
// ports. Each browser context is one device (its own IndexedDB); `context.setOffline(true)` cuts
// it off the network. Part of `npm test`; alone: `npm run test:browser`.
//
// It lives in test/ rather than beside the example because examples/ may not import from outside
// it (test/package-names.test.ts), and it needs the Chromium helpers of chromium.fixture.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { chromium } from 'playwright-core'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startWebDemo } from '../examples/web/demo.js'
import type { WebDemo } from '../examples/web/demo.js'
import { CHROMIUM_ARGS, CHROMIUM_PATH, describeInChromium } from './chromium.fixture.js'

/** Longest wait for one thing the page should show (a sync round, a reload). */
const SHOW_TIMEOUT_MS = 30_000
/** Longest a scenario may take. */
const SCENARIO_TIMEOUT_MS = 120_000

interface Shown {
  readonly title: string
  readonly done: boolean
}

describeInChromium('the web todo app in Chromium (examples/web)', () => {
  let demo: WebDemo | undefined
  let browser: Browser | undefined
  const pageErrors: string[] = []

  beforeAll(async () => {
    demo = await startWebDemo({ port: 0, syncPort: 0 })
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
      timeout: SHOW_TIMEOUT_MS,
    })
  }, 90_000)
  afterAll(async () => {
    await browser?.close()
    const code = await demo?.stop()
    expect(code).toBe(0)
  })

  function running(): { demo: WebDemo; browser: Browser } {
    if (demo === undefined || browser === undefined) throw new Error('see beforeAll')
    return { demo, browser }
  }

  /** Opens the app in a new tab of `context` and waits until it has read its store. */
  async function open(context: BrowserContext): Promise<Page> {
    const page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    await page.goto(running().demo.pageUrl, { timeout: SHOW_TIMEOUT_MS })
    await ready(page)
    return page
  }

  async function ready(page: Page): Promise<void> {
    await page.waitForSelector('body[data-ready="true"]', { timeout: SHOW_TIMEOUT_MS })
  }

  const shown = (page: Page): Promise<Shown[]> =>
    page.$$eval('#todos li', (items) =>
      items.map((item) => ({
        title: item.querySelector('.title')?.textContent ?? '',
        done: (item as HTMLElement).dataset['done'] === 'true',
      })),
    )
  /** A wait that, when it fails, says what the page's sync state was. */
  async function showing(page: Page, wait: () => Promise<void>): Promise<void> {
    try {
      await wait()
    } catch (error) {
      const state = await page.textContent('#sync').catch(() => '(page gone)')
      throw new Error(
        `${String(error)}\n  the page's sync state: ${state?.replace(/\s+/g, ' ').trim()}`,
        {
          cause: error,
        },
      )
    }
  }
  const showsList = (page: Page, list: readonly Shown[]) =>
    showing(page, () => expect.poll(() => shown(page), { timeout: SHOW_TIMEOUT_MS }).toEqual(list))
  const showsState = (page: Page, state: string) =>
    showing(page, () =>
      expect
        .poll(() => page.getAttribute('#network', 'data-state'), { timeout: SHOW_TIMEOUT_MS })
        .toBe(state),
    )
  const showsPending = (page: Page, count: number) =>
    showing(page, () =>
      expect
        .poll(() => page.getAttribute('#pending', 'data-count'), { timeout: SHOW_TIMEOUT_MS })
        .toBe(String(count)),
    )
  const conflicts = (page: Page): Promise<string[]> =>
    page.locator('#conflicts li').allTextContents()
  const replicaOf = (page: Page): Promise<string | null> => page.textContent('#replica')
  const syncsHere = (page: Page): Promise<string | null> =>
    page.getAttribute('#tab-role', 'data-syncing')

  const row = (page: Page, title: string) =>
    page.locator('#todos li').filter({ has: page.locator('.title', { hasText: title }) })
  async function add(page: Page, title: string): Promise<void> {
    await page.fill('#new-title', title)
    await page.press('#new-title', 'Enter')
    await row(page, title).waitFor({ timeout: SHOW_TIMEOUT_MS })
  }
  async function rename(page: Page, from: string, to: string): Promise<void> {
    await row(page, from).getByRole('button', { name: 'Rename' }).click()
    await page.fill('#todos input.edit', to)
    await page.press('#todos input.edit', 'Enter')
    await row(page, to).waitFor({ timeout: SHOW_TIMEOUT_MS })
  }
  async function check(page: Page, title: string): Promise<void> {
    await row(page, title).locator('input[type="checkbox"]').check()
    await expect
      .poll(() => row(page, title).getAttribute('data-done'), { timeout: SHOW_TIMEOUT_MS })
      .toBe('true')
  }
  async function remove(page: Page, title: string): Promise<void> {
    await row(page, title).getByRole('button', { name: 'Delete' }).click()
    await row(page, title).waitFor({ state: 'detached', timeout: SHOW_TIMEOUT_MS })
  }
  /** Waits until the service worker has cached the page, so it also loads offline. */
  async function cachedForOffline(page: Page): Promise<void> {
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))
  }

  const CONVERGED: readonly Shown[] = [
    { title: 'Buy soy milk', done: false },
    { title: 'Call mom', done: true },
    { title: 'Book dentist', done: false },
  ]
  let deviceA: BrowserContext | undefined
  let pageA: Page | undefined

  describe('two devices offline, then online', () => {
    it(
      'Given two devices with one list, When both edit it offline (the same todo and different ones) and reload, Then the edits survive; When they go online, Then both show the same list and the same conflicts',
      async () => {
        const { browser } = running()
        // Given two devices that synced one list
        deviceA = await browser.newContext()
        const deviceB = await browser.newContext()
        const a = await open(deviceA)
        pageA = a
        const b = await open(deviceB)
        expect(await replicaOf(a)).not.toBe(await replicaOf(b))
        await add(a, 'Buy milk')
        await add(a, 'Call mom')
        await add(a, 'Water plants')
        const start = [
          { title: 'Buy milk', done: false },
          { title: 'Call mom', done: false },
          { title: 'Water plants', done: false },
        ]
        await showsList(b, start)
        await Promise.all([showsState(a, 'online'), showsState(b, 'online')])
        await Promise.all([cachedForOffline(a), cachedForOffline(b)])

        // When both go offline and edit: the same todo on both, different todos, and a todo one
        // of them deletes while the other renames it
        await Promise.all([deviceA.setOffline(true), deviceB.setOffline(true)])
        await Promise.all([showsState(a, 'offline'), showsState(b, 'offline')])
        await rename(a, 'Buy milk', 'Buy oat milk')
        await check(a, 'Call mom')
        await remove(a, 'Water plants')
        // B's rename of the milk comes later in time: last-write-wins keeps it
        await rename(b, 'Buy milk', 'Buy soy milk')
        await add(b, 'Book dentist')
        await rename(b, 'Water plants', 'Water the plants')
        await Promise.all([showsPending(a, 3), showsPending(b, 3)])

        // And both reload while offline: the page comes from the service worker, the edits
        // from IndexedDB
        const replicaA = await replicaOf(a)
        await Promise.all([a.reload(), b.reload()])
        await Promise.all([ready(a), ready(b)])
        expect(await replicaOf(a)).toBe(replicaA)
        await showsList(a, [
          { title: 'Buy oat milk', done: false },
          { title: 'Call mom', done: true },
        ])
        await showsList(b, [
          { title: 'Buy soy milk', done: false },
          { title: 'Call mom', done: false },
          { title: 'Water the plants', done: false },
          { title: 'Book dentist', done: false },
        ])
        await Promise.all([showsPending(a, 3), showsPending(b, 3)])
        await Promise.all([showsState(a, 'offline'), showsState(b, 'offline')])
        await expect
          .poll(() => a.textContent('#last-error'), { timeout: SHOW_TIMEOUT_MS })
          .toMatch(/^Last error: .*could not reach http:\/\/127\.0\.0\.1:\d+ \(Failed to fetch\)/)

        // When both are back online
        await Promise.all([deviceA.setOffline(false), deviceB.setOffline(false)])

        // Then both converge on one list: B's later rename, A's check, B's new todo, and the
        // deleted todo stays deleted (delete-wins over the concurrent rename)
        await Promise.all([showsList(a, CONVERGED), showsList(b, CONVERGED)])
        await Promise.all([showsPending(a, 0), showsPending(b, 0)])
        await Promise.all([showsState(a, 'online'), showsState(b, 'online')])
        expect(await a.isHidden('#last-error')).toBe(true)
        // And each device reports both conflicts, with what was kept, from its own side
        await expect
          .poll(async () => (await conflicts(a)).sort(), { timeout: SHOW_TIMEOUT_MS })
          .toEqual([
            '“Buy soy milk”: both devices changed it — kept title “Buy soy milk” (another device) over “Buy oat milk”',
            '“Water the plants”: deleted on this device while renamed on another device — the delete wins',
          ])
        await expect
          .poll(async () => (await conflicts(b)).sort(), { timeout: SHOW_TIMEOUT_MS })
          .toEqual([
            '“Buy soy milk”: both devices changed it — kept title “Buy soy milk” (this device) over “Buy oat milk”',
            '“Water the plants”: deleted on another device while renamed on this device — the delete wins',
          ])
        const screenshot = process.env.SYNC_KIT_WEB_SCREENSHOT
        if (screenshot !== undefined) await a.screenshot({ path: screenshot })
        await deviceB.close()
      },
      SCENARIO_TIMEOUT_MS,
    )

    it(
      'Given the converged list on the server, When a third device opens the app, Then it receives everything',
      async () => {
        const deviceC = await running().browser.newContext()
        const c = await open(deviceC)
        await showsList(c, CONVERGED)
        await showsPending(c, 0)
        await showsState(c, 'online')
        await deviceC.close()
      },
      SCENARIO_TIMEOUT_MS,
    )
  })

  it(
    'Given a device with the app open, When it opens a second tab, Then both tabs are one replica: both record, one syncs, both show every change',
    async () => {
      if (deviceA === undefined || pageA === undefined) throw new Error('runs after the first test')
      const first = pageA
      const syncUrl = running().demo.syncUrl
      const toServer = (page: Page): string[] => {
        const urls: string[] = []
        page.on('request', (request) => {
          if (request.url().startsWith(syncUrl)) urls.push(request.url())
        })
        return urls
      }
      const firstRequests = toServer(first)
      // When a second tab of the same device opens
      const second = await open(deviceA)
      const secondRequests = toServer(second)
      // Then it is the same replica, shows the same list, and does not sync itself
      expect(await replicaOf(second)).toBe(await replicaOf(first))
      await showsList(second, CONVERGED)
      expect([await syncsHere(first), await syncsHere(second)]).toEqual(['true', 'false'])
      // When the second tab adds a todo (recorded there, pushed by the first) and the first checks one
      await add(second, 'Walk the dog')
      await check(first, 'Book dentist')
      // Then both tabs show both changes
      const both: Shown[] = [
        { title: 'Buy soy milk', done: false },
        { title: 'Call mom', done: true },
        { title: 'Book dentist', done: true },
        { title: 'Walk the dog', done: false },
      ]
      await Promise.all([showsList(first, both), showsList(second, both)])
      await showsPending(second, 0)
      // And only the first tab talked to the server
      expect(firstRequests.length).toBeGreaterThan(0)
      expect(secondRequests).toEqual([])
      // And a device that opens now receives the second tab's edit too
      const deviceD = await running().browser.newContext()
      await showsList(await open(deviceD), both)
      await deviceD.close()

      // When the syncing tab closes, Then the other takes over and syncs its own edits
      await first.close()
      await expect.poll(() => syncsHere(second), { timeout: SHOW_TIMEOUT_MS }).toBe('true')
      await rename(second, 'Walk the dog', 'Walk the dog twice')
      await showsPending(second, 0)
      expect(secondRequests.length).toBeGreaterThan(0)
      await deviceA.close()
      expect(pageErrors).toEqual([])
    },
    SCENARIO_TIMEOUT_MS,
  )
  describe('a server with --auth-tokens', () => {
    const TOKEN = 'c0ffee00c0ffee00c0ffee00c0ffee00'
    let secured: WebDemo | undefined
    let folder: string | undefined
    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), 'sync-kit-web-tokens-'))
      const file = join(folder, 'tokens.json')
      await writeFile(
        file,
        JSON.stringify({ version: 1, tokens: [{ token: TOKEN, tenant: 'acme' }] }),
        {
          mode: 0o600,
        },
      )
      secured = await startWebDemo({ port: 0, syncPort: 0, serverArgs: ['--auth-tokens', file] })
    }, 90_000)
    afterAll(async () => {
      expect(await secured?.stop()).toBe(0)
      if (folder !== undefined) await rm(folder, { recursive: true, force: true })
    })

    async function openWith(query: string): Promise<{ context: BrowserContext; page: Page }> {
      if (secured === undefined) throw new Error('see beforeAll')
      const context = await running().browser.newContext()
      const page = await context.newPage()
      page.on('pageerror', (error) => pageErrors.push(String(error)))
      await page.goto(`${secured.pageUrl}?${query}`, { timeout: SHOW_TIMEOUT_MS })
      await ready(page)
      return { context, page }
    }

    it(
      "Given pages signed in with the token of tenant acme, When one adds a todo, Then the other receives it; a page with another token keeps its edit pending and shows the server's refusal",
      async () => {
        const one = await openWith(`token=${TOKEN}&tenant=acme`)
        const two = await openWith(`token=${TOKEN}&tenant=acme`)
        const stranger = await openWith('token=not-a-token-of-this-server&tenant=acme')
        await add(one.page, 'Order paper')
        await showsList(two.page, [{ title: 'Order paper', done: false }])
        await Promise.all([showsPending(one.page, 0), showsState(one.page, 'online')])
        await add(stranger.page, 'Sneak in')
        await showsState(stranger.page, 'refused')
        await showsPending(stranger.page, 1)
        await expect
          .poll(() => stranger.page.textContent('#last-error'), { timeout: SHOW_TIMEOUT_MS })
          .toMatch(/bearer token is not known to this server/)
        await showsList(two.page, [{ title: 'Order paper', done: false }])
        await Promise.all([one.context.close(), two.context.close(), stranger.context.close()])
      },
      SCENARIO_TIMEOUT_MS,
    )
  })
})
