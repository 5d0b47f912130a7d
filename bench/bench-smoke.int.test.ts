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
// process, as `npm run bench` starts it, writing its results and chart to a scratch directory so
// the committed full run in bench/ stays as it is.
describe('npm run bench -- --quick (smoke)', () => {
  let dir = ''
  let results: BenchResults
  let chart = ''
  let stdout = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sync-kit-bench-smoke-'))
    const out = join(dir, 'results.json')
    const svg = join(dir, 'results.svg')
    // Given the bench script, started as `npm run bench` starts it (with --expose-gc)
    // When it runs in quick mode (execFile rejects on a non-zero exit: a failed benchmark)
    const run = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'bench/run.ts', '--quick', '--out', out, '--chart', svg],
      { cwd: REPO, maxBuffer: 16 * 1024 * 1024 },
    )
    stdout = run.stdout
    results = JSON.parse(await readFile(out, 'utf8')) as BenchResults
    chart = await readFile(svg, 'utf8')
  }, 240_000)

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
      'browser app: SyncManager + openIndexedDbStore + createHttpTransport + lastWriteWins',
    ])
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
