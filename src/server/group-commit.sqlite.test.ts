/**
 * A sole writer's group commit on SQLite (issue 10): a commit that fails for want of room fails
 * every push of its group and stores nothing, and all recover; another connection writing the
 * same file between and before the server's commits is still delivered once, in order; a lone
 * push needs no timer.
 */
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { createSqliteStore, openSqliteStore } from '../stores/sqlite/index.js'
import { event, grouped, ids, recordFeed } from './group-commit.fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'sync-kit-group-commit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('server core: group commit on SQLite', () => {
  it('Given a database at its page limit (a real SQLITE_FULL), When 20 pushes come in one pass, Then every one is refused unavailable and nothing is stored; once there is room the same pushes are stored, each with its counts, and a feed gets them once', async () => {
    const db = new Database(join(dir, 'full.db'))
    const store = createSqliteStore({ database: db })
    const server = grouped(store)
    const batches = await recordFeed(server)
    await server.push(server.checkPush([event('first')]))
    const pages = db.pragma('page_count', { simple: true }) as number
    db.pragma(`max_page_count = ${pages}`)
    // 5 events of 5,000 bytes each: no push fits into the pages there are.
    const pushes = Array.from({ length: 20 }, (_, p) =>
      Array.from({ length: 5 }, (_, k) => event(`p${p}.${k}`, { pad: 'x'.repeat(5_000) })),
    )
    const refused = await Promise.allSettled(pushes.map((e) => server.push(server.checkPush(e))))
    expect(
      refused.map((s) => s.status === 'rejected' && (s.reason as { code: string }).code),
    ).toEqual(pushes.map(() => 'unavailable'))
    expect(ids(await store.load(null))).toEqual(['first'])

    db.pragma('max_page_count = 1073741823')
    const stored = await Promise.all(pushes.map((e) => server.push(server.checkPush(e))))
    expect(stored.map((r) => [r.stored, r.duplicates])).toEqual(pushes.map(() => [5, 0]))
    const log = ids(await store.load(null))
    expect(log).toEqual(['first', ...pushes.flat().map((e) => e.id)])
    await server.idle()
    expect(ids(batches.flatMap((b) => b.events))).toEqual(log)
    await server.close()
    db.close()
  })

  it('Given another connection writing the same file before and between the server’s group commits, Then a feed gets every event of both once, in version order', async () => {
    const path = join(dir, 'shared.db')
    const mine = await openSqliteStore({ path })
    const other = await openSqliteStore({ path })
    const server = grouped(mine)
    const batches = await recordFeed(server)
    for (let r = 0; r < 8; r++) {
      const pushes = Array.from({ length: 10 }, (_, p) =>
        server.push(server.checkPush([event(`s${r}.${p}.a`), event(`s${r}.${p}.b`)])),
      )
      // Written before the group commits (it waits for the end of this pass of the loop).
      await other.storeBatch([event(`o${r}.before`)])
      const results = await Promise.all(pushes)
      expect(results.every((x) => x.stored === 2)).toBe(true)
      // And between this round's commit and the next one.
      await other.store(event(`o${r}.after`))
    }
    await server.push(server.checkPush([event('end')]))
    await server.idle()
    const log = await mine.load(null)
    expect(log).toHaveLength(8 * 22 + 1)
    const delivered = batches.flatMap((b) => b.events)
    expect(ids(delivered)).toEqual(ids(log))
    expect(delivered.map((e) => e.version.toString())).toEqual(log.map((e) => e.version.toString()))
    await server.close()
    await other.close()
    await mine.close()
  })

  it('Given group commit, When a lone push is made, Then it is stored and answered with no timer run (it waits only for the end of the current pass of the loop)', async () => {
    const store = await openSqliteStore({ path: ':memory:' })
    const server = grouped(store)
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] })
    try {
      const result = await server.push(server.checkPush([event('alone')]))
      expect(result).toMatchObject({ stored: 1, duplicates: 0 })
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
    await server.close()
    await store.close()
  })
})
