import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

import { bundledTracePath } from '../examples/traces/trace-file.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const TRACE = bundledTracePath('concurrent-friendsforever.json.gz')

// The in-process run with a window and a sample is in concurrent-demo.test.ts; this one starts
// `npm run demo` as a command, with its defaults: every pair of events.
describe('npm run demo -- --trace <concurrent trace> as a command (issue 4 §4)', () => {
  it('checks every pair of the 26,078 events and prints one JSON line', async () => {
    // Given the CLI, started as `npm run demo` starts it
    // When it replays the concurrent friendsforever trace in a child process
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'examples/trace-demo.ts', '--trace', TRACE],
      { cwd: REPO, maxBuffer: 16 * 1024 * 1024 },
    )
    // Then it exits 0 (execFile rejects otherwise) with one JSON line on stdout
    const lines = stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    const summary = JSON.parse(lines[0] ?? '') as Record<string, unknown>
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
