import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

import { startSyncServer } from '../examples/http-mode.js'
import type { SyncServerProcess } from '../examples/http-mode.js'
import { SyncManager } from '../src/index.js'
import type { EventStore } from '../src/index.js'
import { openSqliteStore } from '../src/stores/sqlite/index.js'
import { createHttpTransport } from '../src/transports/http/index.js'

// A server restored from a backup under the same epoch (issue 9 §6), end to end: a real
// `sync-kit serve` on a SQLite file, replaced by an older copy between two syncs of the clients,
// which keep their own SQLite files.

const cleanups: (() => Promise<unknown> | undefined)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Copies a SQLite database (with its WAL files, if any) over another. */
function copyDatabase(from: string, to: string): void {
  for (const suffix of ['-wal', '-shm']) rmSync(to + suffix, { force: true })
  copyFileSync(from, to)
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix)
  }
}

async function idsOf(store: EventStore): Promise<string[]> {
  return (await store.load(null)).map((e) => e.event.id)
}

describe('a server restored from an older copy of its database', () => {
  it('Given a client whose events reached the server after its backup, When the server is restored and the client syncs again, Then it re-sends the events the restore lost and pulls those written after the restore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sync-kit-restore-'))
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })))
    const db = join(dir, 'server.db')
    const backup = join(dir, 'backup.db')
    let server: SyncServerProcess = await startSyncServer({ db })
    cleanups.push(() => server.stop())
    const port = server.port
    const restartWith = async (prepare: () => void): Promise<void> => {
      await server.stop()
      prepare()
      server = await startSyncServer({ db, port })
    }
    const replica = async (nodeId: string) => {
      const store = await openSqliteStore({ path: join(dir, `${nodeId}.db`) })
      const manager = new SyncManager({
        store,
        transport: createHttpTransport({ url: server.url }),
        nodeId,
      })
      cleanups.push(
        () => store.close(),
        () => manager.close(),
      )
      return { store, manager }
    }

    // Given a and b synced through the server, then a backup of its database
    const a = await replica('a')
    const b = await replica('b')
    await a.manager.record({ id: 'a1', type: 'T', aggregateId: 'x', data: 1 })
    await a.manager.sync()
    await b.manager.record({ id: 'b1', type: 'T', aggregateId: 'y', data: 1 })
    await b.manager.sync()
    await a.manager.sync()
    await restartWith(() => copyDatabase(db, backup))
    // and a pushes two more events, which only the live database holds
    await a.manager.record({ id: 'a2', type: 'T', aggregateId: 'x', data: 2 })
    await a.manager.record({ id: 'a3', type: 'T', aggregateId: 'x', data: 3 })
    await a.manager.sync()

    // When the database is replaced by the backup (same epoch, older head), c writes after it
    await restartWith(() => copyDatabase(backup, db))
    const c = await replica('c')
    await c.manager.record({ id: 'c1', type: 'T', aggregateId: 'z', data: 1 })
    await c.manager.sync()
    // and a records and syncs again
    const changes: { previous: string; current: string }[] = []
    a.manager.on('epoch-changed', (change) => changes.push(change))
    await a.manager.record({ id: 'a4', type: 'T', aggregateId: 'x', data: 4 })
    await a.manager.sync()

    // Then the server holds a's lost events again, a holds c's, and the regression was reported
    const onServer = await createHttpTransport({ url: server.url }).pull(null, { limit: 100 })
    expect(onServer.events.map((e) => e.event.id).sort()).toEqual([
      'a1',
      'a2',
      'a3',
      'a4',
      'b1',
      'c1',
    ])
    expect((await idsOf(a.store)).sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'c1'])
    expect(changes).toHaveLength(1)
    expect(changes[0]?.previous).toBe(changes[0]?.current)
  })
})
