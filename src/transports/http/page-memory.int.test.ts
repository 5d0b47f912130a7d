import { gzipSync } from 'node:zlib'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { SOURCE_CLI_COMMAND, startSyncServer } from '../../../examples/http-mode.js'
import type { SyncServerProcess } from '../../../examples/http-mode.js'

// Regression: a pull page (and a stream's replay page) used to be bounded by its event count only,
// while one event could hold up to `maxDecompressedBytes` (16 MiB) that gzip shrinks to a few KiB
// on the wire: a client pushed a few dozen such events cheaply, and the next pull of that page made
// the server parse and serialise them all at once — V8 aborted with "heap out of memory", again on
// every restart. Now one event is at most `maxEventBytes` (1 MiB) and a page stops at
// `maxPageBytes` (4 MiB), reading the store a few events at a time.

const EVENTS = 30
const EVENT_BYTES = 1_000_000
const HEAP_MB = 128

describe('sync server memory per page', () => {
  let dir: string
  let server: SyncServerProcess

  // The setup is a hook, not part of the tests, so a broken setup is reported as a setup failure.
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sync-kit-page-memory-'))
    const [node, ...rest] = SOURCE_CLI_COMMAND as [string, ...string[]]
    server = await startSyncServer({
      db: join(dir, 'sync.db'),
      command: [node, `--max-old-space-size=${HEAP_MB}`, ...rest],
      args: ['--synchronous', 'normal'],
    })
    const data = 'z'.repeat(EVENT_BYTES)
    for (let i = 0; i < EVENTS; i++) {
      const body = gzipSync(
        JSON.stringify({ events: [{ id: `big-${i}`, type: 'Blob', aggregateId: 'a', data }] }),
      )
      const pushed = await fetch(`${server.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body,
      })
      if (pushed.status !== 200) throw new Error(`push ${i} answered ${pushed.status}`)
      await pushed.body?.cancel()
    }
  })
  afterAll(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`Given ${EVENTS} stored events of ~1 MB (each pushed as a ~1 KiB gzip body) and a ${HEAP_MB} MiB heap, When one client pulls them all, Then every page stays within the byte budget and the server keeps running`, async () => {
    const seen: string[] = []
    let since: string | undefined
    let pages = 0
    for (;;) {
      const query = since === undefined ? '' : `&since=${since}`
      const pulled = await fetch(`${server.url}/v1/events?limit=${EVENTS}${query}`)
      expect(pulled.status).toBe(200)
      const text = await pulled.text()
      expect(text.length).toBeLessThanOrEqual(4 * 1024 * 1024 + 64 * 1024)
      const page = JSON.parse(text) as {
        events: { event: { id: string } }[]
        hasMore: boolean
        nextSince?: string
      }
      pages++
      seen.push(...page.events.map((e) => e.event.id))
      if (!page.hasMore) break
      since = page.nextSince
    }

    expect(seen).toEqual(Array.from({ length: EVENTS }, (_, i) => `big-${i}`))
    expect(pages).toBeGreaterThan(1)
    const health = await fetch(`${server.url}/v1/health`)
    expect(health.status).toBe(200)
  })

  it('Given an event over the per-event limit, When it is pushed (gzip makes it tiny on the wire), Then it is refused with 413 and nothing is stored', async () => {
    const body = gzipSync(
      JSON.stringify({
        events: [{ id: 'huge', type: 'Blob', aggregateId: 'a', data: 'z'.repeat(4 * 1024 * 1024) }],
      }),
    )

    const pushed = await fetch(`${server.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
    })

    expect(pushed.status).toBe(413)
    expect(((await pushed.json()) as { error: { code: string } }).error.code).toBe(
      'payload-too-large',
    )
    const version = (await (await fetch(`${server.url}/v1/version`)).json()) as {
      latestVersion: string
    }
    expect(version.latestVersion).toBe(String(EVENTS))
  })
})
