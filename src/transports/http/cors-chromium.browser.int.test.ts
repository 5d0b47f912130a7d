// CORS in REAL Chromium (Debian's /usr/bin/chromium through playwright-core): a page served from
// one origin (127.0.0.1:<port A>) syncs with `sync-kit serve` on another (127.0.0.1:<port B>), a
// child process run from the source. Without --cors the browser blocks the call and the client's
// error names CORS and the flag; with --cors <page origin> and --auth-tokens the page syncs. Part
// of `npm test`; alone: `npm run test:browser`.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startSyncServer } from '../../../examples/http-mode.js'
import type { SyncServerProcess } from '../../../examples/http-mode.js'
import { describeInChromium, openChromiumPage } from '../../../test/chromium.fixture.js'
import type { ChromiumPage } from '../../../test/chromium.fixture.js'
import type { CorsPage, PageSync } from './cors-page.fixture.js'

const PAGE = join(import.meta.dirname, 'cors-page.fixture.ts')
const TOKEN = 'acme-browser-token-0123456789'

type PageGlobal = typeof globalThis & { syncKitCorsPage: CorsPage }

describeInChromium('CORS in Chromium: a page syncing with sync-kit serve on another origin', () => {
  let chromium: ChromiumPage | undefined
  const servers: SyncServerProcess[] = []
  const dir = mkdtempSync(join(tmpdir(), 'sync-kit-cors-chromium-'))
  beforeAll(async () => {
    chromium = await openChromiumPage(PAGE, 'syncKitCorsPage')
  })
  afterAll(async () => {
    await chromium?.close()
    for (const server of servers) await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  function session(): ChromiumPage {
    if (chromium === undefined) throw new Error('Chromium did not start (see beforeAll)')
    return chromium
  }

  async function serve(args: readonly string[]): Promise<SyncServerProcess> {
    const server = await startSyncServer({ db: ':memory:', args })
    servers.push(server)
    return server
  }

  const syncFromPage = (url: string, token?: string, tenant?: string): Promise<PageSync> =>
    session().page.evaluate(
      ([u, t, n]) => (globalThis as PageGlobal).syncKitCorsPage.sync(u as string, t, n),
      [url, token, tenant] as const,
    )

  it('Given sync-kit serve without --cors, When the page syncs with it, Then the browser blocks it and the error names CORS and sync-kit serve --cors <page origin>', async () => {
    const origin = new URL(session().url).origin
    const server = await serve([])
    expect(new URL(server.url).origin).not.toBe(origin)
    const result = await syncFromPage(server.url)
    expect(result).toMatchObject({ ok: false, code: 'unavailable' })
    const { message } = result as { message: string }
    expect(message).toContain('Failed to fetch')
    expect(message).toContain(`(CORS)? sync-kit serve --cors ${origin}`)
  })

  it('Given sync-kit serve --cors <page origin> --auth-tokens, When the page syncs with its token, Then the event is pushed and stored in its tenant; without the token it is refused 401', async () => {
    const origin = new URL(session().url).origin
    const tokens = join(dir, 'tokens.json')
    writeFileSync(
      tokens,
      JSON.stringify({ version: 1, tokens: [{ token: TOKEN, tenant: 'acme' }] }),
    )
    chmodSync(tokens, 0o600)
    const server = await serve(['--cors', origin, '--auth-tokens', tokens])
    expect(await syncFromPage(server.url, TOKEN, 'acme')).toEqual({
      ok: true,
      pushed: 1,
      pulled: 0,
    })
    // The page could read the 401's error body: the CORS headers are on errors too.
    const anonymous = await syncFromPage(server.url, undefined, 'acme')
    expect(anonymous).toMatchObject({ ok: false, code: 'unauthorized' })
    expect((anonymous as { message: string }).message).toContain('this server needs a bearer token')
    const pulled = (await (
      await fetch(`${server.url}/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { events: { event: { data: { from: string }; metadata: { tenant: string } } }[] }
    expect(pulled.events.map((e) => [e.event.data.from, e.event.metadata.tenant])).toEqual([
      [origin, 'acme'],
    ])
    const errors = session().pageErrors.filter(
      (e) => !e.startsWith('Failed to load resource') && !e.includes('CORS policy'),
    )
    expect(errors, errors.join('\n')).toEqual([])
  })
})
