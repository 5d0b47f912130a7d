import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import { parseStoredEvent } from './stored-event.js'

describe('parseStoredEvent', () => {
  const row = { id: 'e1', type: 'T', aggregate_id: 'a1', data: '{"b":1,"a":[2]}', metadata: null }

  it('rebuilds the event from its JSON text, keeping key order, without metadata when none', () => {
    const event = parseStoredEvent(row, 'the row')
    expect(event).toEqual({ id: 'e1', type: 'T', aggregateId: 'a1', data: { b: 1, a: [2] } })
    expect(Object.keys(event.data as object)).toEqual(['b', 'a'])
    expect('metadata' in event).toBe(false)
    expect(parseStoredEvent({ ...row, metadata: '{"tenant":"t"}' }, 'the row').metadata).toEqual({
      tenant: 't',
    })
  })

  it('reports JSON that does not parse as internal, naming the row, with the cause', () => {
    let caught: unknown
    try {
      parseStoredEvent({ ...row, data: '{oops' }, '[sync-kit] [x] the stored event "e1"')
    } catch (error) {
      caught = error
    }
    expect(isSyncKitError(caught, 'internal')).toBe(true)
    expect((caught as Error).message).toMatch(/^\[sync-kit\] \[x\] the stored event "e1" has data/)
    expect((caught as Error).cause).toBeInstanceOf(SyntaxError)
  })
})
