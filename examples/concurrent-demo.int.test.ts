import { describe, expect, it } from 'vitest'

import { bundledTracePath } from './traces/trace-file.js'
import { runDemoCommand } from './demo-command.fixture.js'

const TRACE = bundledTracePath('concurrent-friendsforever.json.gz')

// The in-process run with a window and a sample is in concurrent-demo.test.ts; this one starts
// `npm run demo` as a command, with its defaults: every pair of events.
describe('npm run demo -- --trace <concurrent trace> as a command (issue 4 §4)', () => {
  it('checks every pair of the 26,078 events and prints one JSON line', async () => {
    // Given the CLI, started as `npm run demo` starts it
    // When it replays the concurrent friendsforever trace in a child process
    // Then it exits 0 with one JSON line on stdout
    const { summary, stderr } = await runDemoCommand(['--trace', TRACE])
    expect(Object.keys(summary)).toEqual([
      'trace',
      'events',
      'replicas',
      'pairsChecked',
      'relationMismatches',
      'causalOrderViolations',
      'conflictsDetected',
      'converged',
      'unexpectedPulls',
      'sampling',
      'ms',
    ])
    // 26,078 · 26,077 / 2: every pair, so nothing is sampled
    expect(summary).toMatchObject({
      trace: 'concurrent-friendsforever.json.gz',
      events: 26_078,
      replicas: 2,
      pairsChecked: 340_018_003,
      relationMismatches: 0,
      causalOrderViolations: 0,
      converged: true,
      unexpectedPulls: 0,
      sampling: { allPairs: true, window: 26_077, sampledPairs: 0 },
    })
    expect(summary['conflictsDetected']).toEqual(expect.any(Number))
    expect(stderr).toContain('100%')
  })
})
