import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { EpochTracker, MAX_EPOCH_RESTARTS, withEpoch } from './epoch-tracker.js'
import { partsContext } from './sync-parts.fixture.js'

describe('EpochTracker', () => {
  it('Given the push and the pull pass both find one change of epoch, then epoch-changed is emitted once per change', () => {
    const { ctx, emitted } = partsContext()
    const epochs = new EpochTracker(ctx)

    epochs.changed('e1', 'e2')
    epochs.changed('e1', 'e2')
    epochs.changed('e2', 'e3')

    expect(emitted).toEqual([
      ['epoch-changed', { previous: 'e1', current: 'e2' }],
      ['epoch-changed', { previous: 'e2', current: 'e3' }],
    ])
  })

  it('Given an epoch that keeps changing within one pass, then the pass gives up as unavailable past the bound', () => {
    const { ctx } = partsContext()
    const epochs = new EpochTracker(ctx)

    for (let restarts = 1; restarts <= MAX_EPOCH_RESTARTS; restarts++) {
      epochs.checkRestarts(restarts, 'e1', 'e2')
    }
    let thrown: unknown
    try {
      epochs.checkRestarts(MAX_EPOCH_RESTARTS + 1, 'e1', 'e2')
    } catch (error) {
      thrown = error
    }

    expect(isSyncKitError(thrown, 'unavailable')).toBe(true)
  })

  it('Given a checkpoint version, then withEpoch tags it with a known, non-empty epoch only', () => {
    expect(withEpoch('7', 'e1')).toEqual({ version: '7', epoch: 'e1' })
    expect(withEpoch('7', '')).toEqual({ version: '7' })
    expect(withEpoch('7', undefined)).toEqual({ version: '7' })
  })
})
