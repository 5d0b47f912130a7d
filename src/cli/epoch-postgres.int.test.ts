// `sync-kit epoch --db postgres://…` on a real PostgreSQL: prints the epoch, `--renew` gives a
// restored database a new one that every instance then serves (docs/server.md, Restoring a
// backup). Without a reachable database: the URL's password stays out of the records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createPostgresStore } from '../stores/postgres/index.js'
import { createTestDatabase, postgresUrl } from '../stores/postgres/postgres.fixture.js'
import type { TestDatabase } from '../stores/postgres/postgres.fixture.js'
import { epochCli } from './epoch-cli.fixture.js'

describe('sync-kit epoch --db postgres://… without a database', () => {
  it('Given an unreachable PostgreSQL URL with a password, When `sync-kit epoch` runs, Then it fails with exit code 1 naming the URL without its password', async () => {
    const { code, lines, records } = await epochCli([
      'epoch',
      '--db',
      'postgres://app:s3cret-pw@127.0.0.1:1/sync',
    ])
    expect(code).toBe(1)
    expect(lines.join('\n')).not.toContain('s3cret-pw')
    expect(records[0]).toMatchObject({
      msg: 'epoch failed',
      db: 'postgres://app:***@127.0.0.1:1/sync',
    })
  })
})

const url = postgresUrl()

describe.skipIf(url === undefined)('sync-kit epoch on PostgreSQL', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase(url as string, 'epoch_cli')
  })
  afterAll(() => db.drop())

  it('Given a database a server runs on, When `sync-kit epoch` and then `--renew` run, Then the first prints its epoch and the second a new one the store serves from then on', async () => {
    // Given the database of a server, with its epoch
    const pool = db.pool()
    const store = await createPostgresStore({ pool })
    const before = await store.loadOrCreateEpoch('first-epoch')
    await store.close()

    // When the epoch is printed, then renewed
    const shown = await epochCli(['epoch', '--db', db.url])
    const renewed = await epochCli(['epoch', '--db', db.url, '--renew'])

    // Then the first shows the server's epoch, the second a new one that the store now serves
    expect(shown.code).toBe(0)
    expect(shown.records[0]).toMatchObject({ msg: 'epoch', epoch: before })
    expect(renewed.code).toBe(0)
    expect(renewed.records[0]).toMatchObject({ msg: 'epoch renewed', previous: before })
    const epoch = renewed.records[0]?.['epoch']
    expect(typeof epoch === 'string' && epoch !== before).toBe(true)
    const reopened = await createPostgresStore({ pool: db.pool() })
    expect(await reopened.loadOrCreateEpoch('other')).toBe(epoch)
    await reopened.close()
  })
})
