import { describe, expect, it } from 'vitest'

import { bundledTracePath } from './traces/trace-file.js'
import { SEQUENTIAL_SUMMARY_KEYS, runDemoCommand } from './demo-command.fixture.js'

const TRACE = bundledTracePath('sequential-friendsforever_flat.json.gz')

// The in-process run of the same replay is in demo.test.ts; this one starts a child process.
describe('npm run demo as a command (issue 2 §7)', () => {
  it('runs as a command: --trace selects the trace, progress on stderr, one JSON line last on stdout', async () => {
    // Given the CLI, started as `npm run demo` starts it
    // When it replays the friendsforever_flat trace in a child process
    // Then it exits 0, its only stdout line is the JSON summary and stderr carries the progress
    const { summary, stderr } = await runDemoCommand(['--trace', TRACE, '--segment', '2000'])
    expect(Object.keys(summary)).toEqual(SEQUENTIAL_SUMMARY_KEYS)
    expect(summary).toMatchObject({
      trace: 'sequential-friendsforever_flat.json.gz',
      events: 26_078,
      replicas: 3,
      converged: true,
    })
    expect(summary['ms']).toEqual(expect.any(Number))
    expect(stderr).toContain('100%')
  })
})
