import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { createDemoSetup } from './http-mode.js'
import { runTraceDemo } from './traces/replay.js'
import type { SequentialTrace } from './traces/trace-file.js'

/** Types "hello world" one character per txn, then deletes "world ". */
const TRACE: SequentialTrace = {
  kind: 'sequential',
  startContent: '',
  endContent: 'hello',
  txns: [
    ...Array.from('hello world', (char, i) => ({ patches: [[i, 0, char]] as const })),
    { patches: [[5, 6, '']] as const },
  ],
}

describe('createDemoSetup', () => {
  it('returns nothing for loopback + memory, so the replay keeps its own default', async () => {
    expect(await createDemoSetup({ transport: 'loopback', store: 'memory' })).toBeUndefined()
  })

  it('gives each replica its own SQLite file, converges over loopback, and deletes the files on close', async () => {
    // Given SQLite replicas on a loopback hub
    const setup = await createDemoSetup({ transport: 'loopback', store: 'sqlite' })
    if (setup === undefined) throw new Error('expected a setup')
    const directory = setup.directory ?? ''
    expect(setup.server).toBeUndefined()
    expect(setup.halfway).toBeUndefined()
    try {
      // When 3 replicas replay the trace, 2 txns per turn
      const result = await runTraceDemo({ trace: TRACE, replicas: 3, segment: 2, setup })
      const files = readdirSync(directory).filter((name) => name.endsWith('.db'))
      // Then they converge, each on its own database file
      expect(result).toMatchObject({ events: 12, converged: true, conflicts: 0 })
      expect(files.sort()).toEqual(['r0.db', 'r1.db', 'r2.db'])
    } finally {
      await setup.close()
    }
    // And closing removes the directory (and is idempotent)
    expect(existsSync(join(directory, 'r0.db'))).toBe(false)
    expect(existsSync(directory)).toBe(false)
    await setup.close()
  })
})
