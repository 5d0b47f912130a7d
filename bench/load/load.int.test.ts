import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { LoadReport } from './load-report.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))

/** Every figure the report must carry (issue 10 item 6), as paths into it. */
const FIGURES = [
  'events.recorded',
  'events.targetPerSecond',
  'events.recordedPerSecond',
  'events.heldPerSecond',
  ...['pushRoundTrip', 'recordToAck', 'liveDelivery', 'pullRoundTrip'].flatMap((name) =>
    ['n', 'p50', 'p99', 'max', 'mean'].map((field) => `latencyMs.${name}.${field}`),
  ),
  ...['rssPeakMiB', 'rssMeanMiB', 'cpuPercentMean', 'cpuPercentPeak'].map(
    (field) => `serverResources.writing.${field}`,
  ),
  'serverResources.run.rssPeakMiB',
  'clientResources.writing.cpuPercentMean',
  'clientResources.eventLoopDelayP99Ms',
  'wire.pushRequests',
  'wire.pushedEvents',
  'wire.storedEvents',
  'wire.duplicateEvents',
  'wire.echoRatio',
  'wire.pullRequests',
  'wire.clientPushedEvents',
  'sequence.latestVersion',
  'settle.settled',
  'settle.afterWritersStopMs',
  'check.passed',
  'check.server.events',
  'check.server.missing',
  'check.server.duplicates',
  'check.clients.equal',
  'check.clients.missingEvents',
  'check.clients.duplicatedEvents',
  'check.clients.stateMismatches',
  'machine.loadAverageBefore',
]

function at(report: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], report)
}

// A small run of the shipped load test (issue 10 item 6), as `npm run load` starts it: a real
// sync-kit serve child process, clients in a worker process, the exactly-once check.
describe('npm run load -- --clients 5 --rate 2 --duration 3', () => {
  let dir = ''
  let report: LoadReport
  let stdoutReport: LoadReport
  let stderr = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sync-kit-load-test-'))
    const out = join(dir, 'load.json')
    // Given 5 live clients each recording 2 events a second for 3 seconds on shared aggregates
    // When the load test runs (execFile rejects on a non-zero exit: a failed check)
    const run = await promisify(execFile)(
      process.execPath,
      [
        ...['--import', 'tsx', 'bench/load/load.ts'],
        ...['--clients', '5', '--rate', '2', '--duration', '3', '--json', out],
      ],
      { cwd: REPO, maxBuffer: 16 * 1024 * 1024, timeout: 90_000 },
    )
    stderr = run.stderr
    stdoutReport = JSON.parse(run.stdout) as LoadReport
    report = JSON.parse(await readFile(out, 'utf8')) as LoadReport
  }, 120_000)

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('passes the exactly-once check: every client holds exactly the server log, which holds every recorded event once', () => {
    // Then nothing is lost or duplicated and every client equals the server, in time
    expect(report.check.failures).toEqual([])
    expect(report.check.passed).toBe(true)
    expect(report.settle.settled).toBe(true)
    expect(report.check.server).toEqual({
      events: report.events.recorded,
      duplicates: 0,
      missing: 0,
      unknown: 0,
    })
    expect(report.check.clients).toMatchObject({ equal: 5, total: 5, missingEvents: 0 })
    // About 2 events a second each for 3 seconds (the first and last periods are jittered)
    expect(report.events.recorded).toBeGreaterThanOrEqual(5 * 5)
    expect(report.events.recorded).toBeLessThanOrEqual(5 * 7)
    expect(report.wire.storedEvents).toBe(report.events.recorded)
    expect(report.server.exitCodes).toEqual([0])
  })

  it('reports every figure, on stdout and in the --json file, with a summary on stderr', () => {
    for (const path of FIGURES) {
      const value = at(report, path)
      expect(value === null || value === undefined, `${path} is ${String(value)}`).toBe(false)
    }
    // Each event is delivered live to the 4 other clients
    expect(report.latencyMs.liveDelivery.n).toBe(report.events.recorded * 4)
    expect(report.latencyMs.recordToAck.n).toBe(report.events.recorded)
    expect(report.latencyMs.censored).toEqual({ recordToAck: 0, liveDelivery: 0 })
    expect(stdoutReport).toEqual(report)
    expect(stderr).toContain('exactly-once: PASSED')
  })
})
