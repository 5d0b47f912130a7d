import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { SyncManager, createMemoryStore } from '../index.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import type { SqliteStore } from '../stores/sqlite/index.js'
import { createHttpTransport, createSyncHandler } from '../transports/http/index.js'
import { serve } from '../transports/http/node.js'
import type { RunningServer } from '../transports/http/node.js'
import { epochCli } from './epoch-cli.fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'sync-kit-epoch-command-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

/** A sync server on a SQLite file, started in-process (the same pieces as `sync-kit serve`). */
async function startServer(path: string): Promise<{ server: RunningServer; store: SqliteStore }> {
  const store = await openSqliteStore({ path, synchronous: 'normal' })
  const server = await serve({ handler: createSyncHandler({ store }), port: 0 })
  return { server, store }
}

describe('sync-kit epoch', () => {
  it('Given a server database, When `sync-kit epoch` runs, Then it prints the epoch; with --renew it prints a new one the database keeps', async () => {
    const path = join(dir, `db-${++files}.db`)
    const setup = await openSqliteStore({ path })
    const first = await setup.loadOrCreateEpoch('epoch-before')
    await setup.close()

    const shown = await epochCli(['epoch', '--db', path])
    const renewed = await epochCli(['epoch', '--db', path, '--renew'])

    expect(shown.code).toBe(0)
    expect(shown.records[0]).toMatchObject({ level: 'info', msg: 'epoch', epoch: first, db: path })
    expect(renewed.code).toBe(0)
    const record = renewed.records[0] ?? {}
    expect(record).toMatchObject({ msg: 'epoch renewed', previous: first })
    expect(record['epoch']).not.toBe(first)
    const after = await openSqliteStore({ path })
    try {
      expect(await after.loadOrCreateEpoch('ignored')).toBe(record['epoch'])
    } finally {
      await after.close()
    }
  })

  it('Given a path without a database, When `sync-kit epoch` runs, Then it exits 2 and creates nothing', async () => {
    const path = join(dir, 'missing.db')

    const result = await epochCli(['epoch', '--db', path, '--renew'])

    expect(result.code).toBe(2)
    expect(result.records[0]).toMatchObject({ level: 'error', code: 'invalid-argument' })
    await expect(import('node:fs').then((fs) => fs.existsSync(path))).resolves.toBe(false)
  })

  it('Given a server restored from a backup that lacks events clients hold, When the database gets a new epoch and the server restarts, Then the clients push what it lacks and pull the rest', async () => {
    // Given: two replicas synced through a server; a backup taken after the first event only.
    const path = join(dir, `db-${++files}.db`)
    const backup = join(dir, `db-${files}.backup.db`)
    let running = await startServer(path)
    const url = running.server.url
    const storeA = createMemoryStore()
    const storeB = createMemoryStore()
    const replica = (store: typeof storeA, nodeId: string): SyncManager =>
      new SyncManager({
        store,
        transport: createHttpTransport({ url, retry: { retries: 5, initialMs: 20, maxMs: 200 } }),
        nodeId,
      })
    const a = replica(storeA, 'a')
    const b = replica(storeB, 'b')
    await a.record({ type: 'Note', aggregateId: 'n1', data: { text: 'one' } })
    await a.sync()
    // SQLite's online backup into a new file, as an operator would take it.
    running.store.database.exec(`VACUUM INTO '${backup.replaceAll("'", "''")}'`)
    await a.record({ type: 'Note', aggregateId: 'n2', data: { text: 'two' } })
    await a.sync()
    await b.record({ type: 'Note', aggregateId: 'n3', data: { text: 'three' } })
    await b.sync()
    await a.sync()
    const everything = (await storeA.load(null)).map((e) => e.event.id).sort()
    expect(everything).toHaveLength(3)

    // When: the server is restored from the backup, renewed, and started on the same port.
    await running.server.close()
    await running.store.close()
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
    copyFileSync(backup, path)
    expect((await epochCli(['epoch', '--db', path, '--renew'])).code).toBe(0)
    const port = Number(new URL(url).port)
    const store = await openSqliteStore({ path, synchronous: 'normal' })
    running = { server: await serve({ handler: createSyncHandler({ store }), port }), store }
    try {
      await a.sync()
      await b.sync()
      await a.sync()

      // Then: the server holds every event again, and so does each replica.
      const held = (await store.load(null)).map((e) => e.event.id).sort()
      expect(held).toEqual(everything)
      expect((await storeB.load(null)).map((e) => e.event.id).sort()).toEqual(everything)
    } finally {
      await a.close()
      await b.close()
      await running.server.close()
      await running.store.close()
    }
  })
})
