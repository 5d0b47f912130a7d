import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

import { bundledTracePath } from '../examples/traces/trace-file.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const TRACE = bundledTracePath('sequential-friendsforever_flat.json.gz')

// The in-process run of the same replay is in demo.test.ts; this one starts a child process.
describe('npm run demo as a command (issue 2 §7)', () => {
  it('runs as a command: --trace selects the trace, progress on stderr, one JSON line last on stdout', async () => {
    // Given the CLI, started as `npm run demo` starts it
    // When it replays the friendsforever_flat trace in a child process
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'examples/trace-demo.ts', '--trace', TRACE, '--segment', '2000'],
      { cwd: REPO, maxBuffer: 16 * 1024 * 1024 },
    )
    // Then it exits 0 (execFile rejects otherwise), the last stdout line is the JSON summary and
    // stderr carries the progress
    const lines = stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    const summary = JSON.parse(lines[0] ?? '') as Record<string, unknown>
    expect(Object.keys(summary)).toEqual([
      'trace',
      'events',
      'replicas',
      'converged',
      'ms',
      'eventsPerSec',
    ])
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
