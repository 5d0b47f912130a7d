import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { createLoopbackHub } from './index.js'

describe('loopback push conditioned on the epoch (ifEpoch)', () => {
  it('Given the current epoch, when pushing with ifEpoch, then the events are stored', async () => {
    const hub = createLoopbackHub()
    const client = hub.connect('a')

    const result = await client.push([{ id: 'e1', type: 'T', aggregateId: 'x', data: 1 }], {
      ifEpoch: hub.epoch,
    })

    expect(result).toMatchObject({ stored: 1, epoch: hub.epoch })
  })

  it('Given a hub that was reset, when pushing with the old epoch, then it rejects with epoch-mismatch and stores nothing', async () => {
    const hub = createLoopbackHub()
    const client = hub.connect('a')
    const before = hub.epoch
    await hub.reset()

    const error = await client
      .push([{ id: 'e2', type: 'T', aggregateId: 'x', data: 2 }], { ifEpoch: before })
      .catch((e: unknown) => e)

    expect(isSyncKitError(error, 'epoch-mismatch')).toBe(true)
    expect(isSyncKitError(error, 'epoch-mismatch') && error.details).toEqual({
      expected: before,
      actual: hub.epoch,
    })
    expect((await client.pull(null)).events).toHaveLength(0)
  })
})
