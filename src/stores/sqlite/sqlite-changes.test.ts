// The change API (watchChanges, keepCurrent) on the SQLite store: the cases the memory store runs
// in src/projections, here on its in-process watch (appends through the store object).
import { describeKeepCurrent } from '../../../test/keep-current.cases.fixture.js'
import { describeWatchChanges } from '../../../test/watch-changes.cases.fixture.js'
import { createLoopbackHub } from '../../transports/loopback/index.js'
import { openSqliteStore } from './index.js'

const options = {
  name: 'sqlite',
  openStore: () => openSqliteStore({ path: ':memory:' }),
  createHub: createLoopbackHub,
}
describeWatchChanges(options)
describeKeepCurrent(options)
