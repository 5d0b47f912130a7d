// Runs the event store conformance suite against the PostgreSQL store exactly as a third party
// would: through the public entry point, on a real PostgreSQL (SYNC_KIT_TEST_PG), one fresh
// schema per case in a database of this file's own.
import { afterAll, beforeAll, describe, it } from 'vitest'
import { eventStoreConformance } from '../../testing/index.js'
import type { ConformanceTestApi } from '../../testing/index.js'
import { createPostgresStore } from './index.js'
import {
  PG_SKIP_MESSAGE,
  createTestDatabase,
  postgresUrl,
  type TestDatabase,
} from './postgres.fixture.js'

const test: ConformanceTestApi = {
  describe,
  it: (name, fn) => it(name, fn),
  skip: (name, reason) => it.skip(`${name} (${reason})`, () => undefined),
}

const url = postgresUrl()

if (url === undefined) {
  // The one place that says why the PostgreSQL tests (this file and the behaviour tests) skip.
  console.warn(`[sync-kit] ${PG_SKIP_MESSAGE}`)
  it.skip(PG_SKIP_MESSAGE, () => undefined)
} else {
  let database: TestDatabase
  const schemas = new WeakMap<object, string>()
  beforeAll(async () => {
    database = await createTestDatabase(url, 'conformance')
  })
  afterAll(async () => {
    await database.drop()
  })

  eventStoreConformance({
    name: 'postgres',
    createStore: async () => {
      const schema = database.freshSchema()
      const store = await createPostgresStore({ pool: database.pool(), schema })
      schemas.set(store, schema)
      return store
    },
    // The same schema again, through a new store object: everything must come from the database.
    reopen: (closed) =>
      createPostgresStore({ pool: database.pool(), schema: schemas.get(closed) ?? '' }),
    storeBatch: true,
    state: true,
    test,
  })
}
