import { describe, expect, it } from 'vitest'
import { Emitter } from './emitter.js'

describe('Emitter', () => {
  it('Given a listener that throws, then the others still run and the failure is emitted as error', () => {
    const emitter = new Emitter<{ tick: number; error: unknown }>()
    const ticks: number[] = []
    const errors: unknown[] = []
    emitter.on('tick', () => {
      throw new Error('listener broke')
    })
    const off = emitter.on('tick', (n) => ticks.push(n))
    emitter.on('error', (e) => errors.push(e))
    emitter.on('error', () => {
      throw new Error('error listener broke')
    })

    emitter.emit('tick', 1)
    off()
    emitter.emit('tick', 2)

    expect(ticks).toEqual([1])
    expect(errors.map((e) => (e as Error).message)).toEqual(['listener broke', 'listener broke'])
  })
})
