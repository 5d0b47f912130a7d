import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { BenchResults } from './run.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))

// Checks that every benchmark runs (issue 5), not how fast: `npm run bench -- --quick` in a child
// process, as `npm run bench` starts it (bench/start.mjs: the peers of bench/package.json are
// installed on demand, the first time into bench/node_modules, then bench/run.ts with
// --expose-gc), writing its results and chart to a scratch directory so the committed full run in
// bench/ stays as it is.
describe('npm run bench -- --quick (smoke)', () => {
  let dir = ''
  let results: BenchResults
  let chart = ''
  let stdout = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sync-kit-bench-smoke-'))
    const out = join(dir, 'results.json')
    const svg = join(dir, 'results.svg')
    // Given the bench script, started as `npm run bench` starts it
    // When it runs in quick mode (execFile rejects on a non-zero exit: a failed benchmark)
    const run = await promisify(execFile)(
      process.execPath,
      ['bench/start.mjs', '--quick', '--out', out, '--chart', svg],
      { cwd: REPO, maxBuffer: 16 * 1024 * 1024 },
    )
    stdout = run.stdout
    results = JSON.parse(await readFile(out, 'utf8')) as BenchResults
    chart = await readFile(svg, 'utf8')
    // The first run also installs the peers (sqlite3 builds from source: minutes on 2 cores).
  }, 900_000)

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('runs every section with no failed benchmark', () => {
    // Then the run reports no failure, covers sections 1–6 and prints the table and targets
    expect(results.failures).toEqual([])
    expect(results.meta.mode).toBe('quick')
    expect(results.meta.exposeGc).toBe(true)
    expect(new Set(results.groups.map((g) => g.section))).toEqual(new Set([1, 2, 3]))
    expect(results.scaling?.groups.length).toBeGreaterThan(0)
    expect(results.heap?.notMeasured).toBeUndefined()
    expect(results.size?.entries.map((e) => e.entry)).toEqual([
      'sync-kit',
      'sync-kit/types',
      'sync-kit/http',
      'sync-kit { SyncManager, createMemoryStore }',
    ])
    // The working apps, each against Logux's app of the same kind, measured in the same run
    expect(results.size?.apps?.map((a) => a.entry)).toEqual([
      'app: loopback (SyncManager + createMemoryStore + createLoopbackHub + lastWriteWins)',
      'app: HTTP (SyncManager + createMemoryStore + createHttpTransport + lastWriteWins)',
      'app: browser (SyncManager + openIndexedDbStore + createHttpTransport + lastWriteWins)',
    ])
    for (const app of results.size?.apps ?? []) expect(app.gzipBytes, app.entry).toBeGreaterThan(0)
    expect(stdout).toContain('operation')
    expect(stdout).toContain('targets:')
  })

  it('measures sync-kit in every group and gives every other contender a figure or a reason', () => {
    const groups = [...results.groups, ...(results.scaling?.groups ?? [])]
    for (const group of groups) {
      expect(group.syncKit.stats?.median, group.id).toBeGreaterThan(0)
      for (const other of group.others) {
        // A contender is either measured (with a ratio) or listed with why it is not.
        if (other.stats === undefined) {
          expect(other.notMeasured, `${group.id} / ${other.name}`).toMatch(/\S/)
        } else {
          expect(other.ratio, `${group.id} / ${other.name}`).toBeGreaterThan(0)
        }
      }
    }
    // The baselines and both peers of the issue appear, measured, somewhere.
    const measured = new Set(
      groups.flatMap((g) => g.others.filter((o) => o.stats !== undefined).map((o) => o.name)),
    )
    expect([...measured]).toEqual(
      expect.arrayContaining([
        'array + Map',
        'raw better-sqlite3',
        'HTTP + raw better-sqlite3',
        expect.stringMatching(/^logux /),
        expect.stringMatching(/^emmett /),
      ]),
    )
  })

  it('writes the table and the targets to results.json and draws the chart from it', () => {
    expect(results.table.length).toBeGreaterThanOrEqual(results.groups.length)
    expect(results.targets.map((t) => t.target)).toEqual(
      expect.arrayContaining([expect.stringContaining('core entry')]),
    )
    expect(results.size?.entries.find((e) => e.entry === 'sync-kit/types')?.minBytes).toBe(0)
    expect(chart.startsWith('<svg')).toBe(true)
    expect(chart).toContain('<polyline')
    expect(chart).toContain('sync-kit memory')
  })
})
