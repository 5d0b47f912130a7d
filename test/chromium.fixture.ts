// Test helpers for tests in real Chromium (the `browser` vitest project, `npm run test:browser`):
// Debian's chromium driven by playwright-core (never a downloaded browser), a page bundled with
// esbuild and served from 127.0.0.1, and the policy when chromium is missing: a developer gets a
// skip naming the install command, CI (CI=true) a failure.
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { describe, it } from 'vitest'

import { SCRIPT_OPTIONS } from '../examples/web/build.js'

/**
 * Where Debian's `chromium` package puts the browser. `SYNC_KIT_CHROMIUM` overrides it (e.g. a
 * path that does not exist, to see the skip).
 */
export const CHROMIUM_PATH: string = process.env.SYNC_KIT_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Flags for a quiet headless run on this kind of machine (no sandbox as root, no GPU, no
 * background traffic). Playwright adds a fresh temporary `--user-data-dir` of its own per launch.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

const INSTALL_HINT = `chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (as root; .ci/run does it on CI)`

/**
 * `describe` for tests that need Chromium. Without it: a skipped test naming the install command
 * (a developer's machine), or a failing one when `CI=true`, so CI never passes by skipping.
 * @param name - the describe name.
 * @param body - registers the tests.
 */
export function describeInChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM_PATH)) {
    describe(name, body)
    return
  }
  describe(name, () => {
    if (process.env.CI === 'true') {
      it('has chromium to run in', () => {
        throw new Error(`${INSTALL_HINT}; CI=true, so this fails instead of skipping`)
      })
    } else {
      console.warn(`[sync-kit] skipping "${name}": ${INSTALL_HINT}`)
      it.skip(`(skipped: ${INSTALL_HINT})`, () => undefined)
    }
  })
}

/** A bundled page open in Chromium. */
export interface ChromiumPage {
  readonly browser: Browser
  /** The first page, already at `url`, its script loaded. */
  readonly page: Page
  /** Where the page is served, `http://127.0.0.1:<port>/`. */
  readonly url: string
  /** Errors the page threw or logged, for messages. */
  readonly pageErrors: readonly string[]
  /** Opens another page (a tab of the same browser context: same origin, same storage). */
  newPage(): Promise<Page>
  /** Closes the browser and the server. */
  close(): Promise<void>
}

/**
 * Bundles `entry` for the browser (esbuild: ESM, no Node built-ins, so it also proves the code
 * bundles for browsers), serves it from 127.0.0.1 on a free port, launches Chromium and opens the
 * page; resolves once `globalThis[readyGlobal]` exists in the page.
 * @param entry - the page script (TypeScript), an absolute path.
 * @param readyGlobal - the global the script sets when it is ready.
 * @param timeoutMs - how long loading may take.
 */
export async function openChromiumPage(
  entry: string,
  readyGlobal: string,
  timeoutMs = 30_000,
): Promise<ChromiumPage> {
  const bundled = await build({ ...SCRIPT_OPTIONS, entryPoints: [entry] })
  const script = bundled.outputFiles[0]?.text ?? ''
  const html =
    '<!doctype html><meta charset="utf-8"><title>sync-kit</title><script type="module" src="/page.js"></script>'
  const server = createServer((request, response) => {
    const [type, body] =
      request.url === '/page.js'
        ? ['text/javascript', script]
        : request.url === '/'
          ? ['text/html', html]
          : ['text/plain', 'not found']
    response.writeHead(body === 'not found' ? 404 : 200, {
      'content-type': `${type}; charset=utf-8`,
    })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
      timeout: timeoutMs,
    })
    const context = await browser.newContext()
    const pageErrors: string[] = []
    const watch = (page: Page): Page => {
      page.on('pageerror', (error) => pageErrors.push(String(error)))
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(message.text())
      })
      return page
    }
    const newPage = async (): Promise<Page> => {
      const page = watch(await context.newPage())
      await page.goto(url, { timeout: timeoutMs })
      await page
        .waitForFunction((name) => name in globalThis, readyGlobal, { timeout: timeoutMs })
        .catch((error: unknown) => {
          throw new Error(`the page did not start: ${pageErrors.join('; ') || String(error)}`)
        })
      return page
    }
    const page = await newPage()
    const opened = browser
    return {
      browser: opened,
      page,
      url,
      pageErrors,
      newPage,
      close: async () => {
        await opened.close()
        await closeServer()
      },
    }
  } catch (error) {
    await browser?.close()
    await closeServer()
    throw error
  }
}
