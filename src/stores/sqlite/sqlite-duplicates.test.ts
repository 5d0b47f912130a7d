// Regression (issue 10): `INSERT … ON CONFLICT DO NOTHING` on the AUTOINCREMENT `events` table
// drew a sequence number for every duplicate and wrote `sqlite_sequence`: a server receiving each
// event ~40 times reached versions of 966,659 for 27,004 events. Now the store looks the ids up
// first and inserts only the new ones; a batch of duplicates writes nothing at all.
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Event } from '../../types/index.js'
import { createSyncHandler } from '../../transports/http/index.js'
import { createSqliteStore, openSqliteStore } from './index.js'
import { racingDatabase } from './sqlite-race.fixture.js'
import type { SqliteStore } from './index.js'

function event(id: string): Event {
  return { id, type: 'Created', aggregateId: 'a1', data: { n: id } }
}

let dir: string
let files = 0
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sync-kit-sqlite-duplicates-'))
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** A store on a new file, and a second connection that watches the file from outside. */
async function fileStore(): Promise<{
  store: SqliteStore
  observer: Database.Database
  path: string
}> {
  const path = join(dir, `store-${++files}.db`)
  const store = await openSqliteStore({ path })
  const observer = new Database(path, { readonly: true })
  opened.push(async () => {
    observer.close()
    await store.close()
  })
  return { store, observer, path }
}
const opened: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of opened.splice(0)) await close()
})

/** The AUTOINCREMENT counter: the last sequence number SQLite handed out. */
function sequence(observer: Database.Database): number {
  const row = observer.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as
    { seq: number } | undefined
  return row?.seq ?? 0
}

/** Changes whenever another connection commits a change to the file (`PRAGMA data_version`). */
function dataVersion(observer: Database.Database): number {
  return observer.pragma('data_version', { simple: true }) as number
}

describe('sqlite store: duplicates cost nothing', () => {
  it('Given a file holding three events, When they are stored again (one by one and as a batch), Then no sequence number is drawn, nothing is written and every result is a duplicate', async () => {
    const { store, observer } = await fileStore()
    const events = [event('e1'), event('e2'), event('e3')]
    const first = await store.storeBatch(events)
    const before = { sequence: sequence(observer), data: dataVersion(observer) }
    expect(before.sequence).toBe(3)

    for (let round = 0; round < 5; round++) {
      for (const e of events) expect((await store.store(e)).duplicate).toBe(true)
      const again = await store.storeBatch([...events, events[0] as Event])
      expect(again.map((r) => r.duplicate)).toEqual([true, true, true, true])
      expect(again.map((r) => r.version.toString())).toEqual(['1', '2', '3', '1'])
    }

    expect(sequence(observer)).toBe(before.sequence)
    expect(dataVersion(observer)).toBe(before.data)
    expect((await store.latestVersion()).toString()).toBe('3')
    expect(first.map((r) => r.version.toString())).toEqual(['1', '2', '3'])
  })

  it('Given a file holding three events, When a batch mixes them with two new events (one repeated), Then exactly two sequence numbers are drawn, right after the last', async () => {
    const { store, observer } = await fileStore()
    await store.storeBatch([event('e1'), event('e2'), event('e3')])

    const results = await store.storeBatch([
      event('e2'),
      event('n1'),
      event('e1'),
      event('n2'),
      event('n1'),
      event('e3'),
    ])

    expect(results.map((r) => [r.version.toString(), r.duplicate])).toEqual([
      ['2', true],
      ['4', false],
      ['1', true],
      ['5', false],
      ['4', true],
      ['3', true],
    ])
    expect(sequence(observer)).toBe(5)
    expect((await store.latestVersion()).toString()).toBe('5')
    expect((await store.store(event('n3'))).version.toString()).toBe('6')
  })

  it('Given a batch of duplicates with a checkpoint, When it is stored, Then only the checkpoint is written and no sequence number is drawn', async () => {
    const { store, observer } = await fileStore()
    await store.storeBatch([event('e1')])
    const key = { remote: 'https://example.test', direction: 'pull' } as const

    await store.storeBatch([event('e1')], { checkpoint: { key, value: { version: '9' } } })

    expect(await store.getCheckpoint(key)).toEqual({ version: '9' })
    expect(sequence(observer)).toBe(1)
  })

  it('Given another connection on the same file stored one id of a batch, When the batch is stored, Then that id is a duplicate and only the new one takes a number', async () => {
    const { store, path } = await fileStore()
    const other = await openSqliteStore({ path })
    opened.push(() => other.close())
    await store.storeBatch([event('e1')])
    await other.storeBatch([event('n1')])

    const results = await store.storeBatch([event('n1'), event('n2')])

    expect(results.map((r) => [r.version.toString(), r.duplicate])).toEqual([
      ['2', true],
      ['3', false],
    ])
  })

  // New events are inserted 100 rows per statement (the rest one by one), and their versions are
  // worked out from the statement's last row: each must be the version its own row got.
  it('Given a batch of 250 new events with stored ids and in-batch repeats scattered through it, When it is stored, Then every result is the version its own row holds, and loads come back in batch order', async () => {
    const { store, observer } = await fileStore()
    await store.storeBatch([event('old-1'), event('old-2')])
    const batch: Event[] = []
    for (let i = 0; i < 250; i++) {
      batch.push(event(`n${i}`))
      if (i % 37 === 0) batch.push(event('old-1'))
      if (i % 53 === 0) batch.push(event(`n${i}`))
    }

    const results = await store.storeBatch(batch)

    const stored = await store.load(null)
    const versionOf = new Map(stored.map((e) => [e.event.id, e.version.toString()]))
    expect(results.map((r) => r.version.toString())).toEqual(batch.map((e) => versionOf.get(e.id)))
    expect(results.filter((r) => !r.duplicate)).toHaveLength(250)
    expect(stored.map((e) => e.event.id)).toEqual([
      'old-1',
      'old-2',
      ...Array.from({ length: 250 }, (_, i) => `n${i}`),
    ])
    expect(sequence(observer)).toBe(252)
  })

  // The batch is planned before the write lock and planned again under it only when another
  // connection committed in between (PRAGMA data_version changed): here one does, at BEGIN.
  it('Given another connection stores one id of a batch just before the write lock is taken, When the batch is stored, Then that id is a duplicate of its row and only the new one takes a number', async () => {
    const path = join(dir, `store-${++files}.db`)
    const other = await openSqliteStore({ path })
    let raced = false
    const database = racingDatabase(path, () => {
      raced = true
      // Synchronous, like every better-sqlite3 call: committed before BEGIN runs.
      void other.storeBatch([event('n1')])
      return true
    })
    const store = createSqliteStore({ database })
    opened.push(async () => {
      await store.close()
      database.close()
      await other.close()
    })

    const results = await store.storeBatch([event('n1'), event('n2')])

    expect(raced).toBe(true)
    expect(results.map((r) => [r.version.toString(), r.duplicate])).toEqual([
      ['1', true],
      ['2', false],
    ])
    expect((await store.load(null)).map((e) => e.event.id)).toEqual(['n1', 'n2'])
  })

  // The ids of a batch are looked up in one statement, as a JSON array (`json_each`): ids that
  // JSON escapes must come back as the very strings stored.
  it('Given events whose ids JSON escapes (NUL, quotes, backslash, non-ASCII, emoji, spaces), When the batch is stored again, Then each is a duplicate with its version and no number is drawn', async () => {
    const { store, observer } = await fileStore()
    const ids = ['a\u0000b', 'a\u0000', '"q"', '\\x', 'é', 'e\u0301', '😀', '  ', '[1]', 'plain']
    const first = await store.storeBatch(ids.map(event))

    const again = await store.storeBatch([...ids].reverse().map(event))

    expect(again.map((r) => r.duplicate)).toEqual(ids.map(() => true))
    expect(again.map((r) => r.version.toString())).toEqual(
      first.map((r) => r.version.toString()).reverse(),
    )
    expect(sequence(observer)).toBe(ids.length)
  })

  it('Given a stored event, When a batch of new events carries its id with other content, Then the batch is refused with event-id-conflict and none of it is stored', async () => {
    const { store, observer } = await fileStore()
    await store.storeBatch([event('e1')])

    const refused = store.storeBatch([
      event('n1'),
      { ...event('e1'), data: { n: 'changed' } },
      event('n2'),
    ])

    await expect(refused).rejects.toMatchObject({ code: 'event-id-conflict' })
    expect(sequence(observer)).toBe(1)
    expect((await store.load(null)).map((e) => e.event.id)).toEqual(['e1'])
  })
})

describe('a server on a database it may only read', () => {
  it('Given a database with an epoch, opened read-only, When a handler serves it, Then reads answer 200 with the kept epoch (loadOrCreateEpoch writes nothing when the epoch exists)', async () => {
    // Given a database a server wrote, with an epoch and an event
    const path = join(mkdtempSync(join(tmpdir(), 'sync-kit-readonly-')), 'f.db')
    const writer = await openSqliteStore({ path })
    const epoch = await writer.loadOrCreateEpoch('epoch-1')
    await writer.store({ id: 'e1', type: 'T', aggregateId: 'a', data: {} })
    await writer.close()
    // When it is opened read-only and served
    const database = new Database(path, { readonly: true })
    const store = createSqliteStore({ database, configureConnection: false })
    const handler = createSyncHandler({ store })
    const version = await handler(new Request('http://localhost/v1/version'))
    const pull = await handler(new Request('http://localhost/v1/events'))
    // Then reads work and the epoch is the kept one
    expect(version.status).toBe(200)
    expect(((await version.json()) as { epoch: string }).epoch).toBe(epoch)
    expect(pull.status).toBe(200)
    expect(
      ((await pull.json()) as { events: { event: { id: string } }[] }).events.map(
        (e) => e.event.id,
      ),
    ).toEqual(['e1'])
    await handler.close()
    await store.close()
    database.close()
  })
})
