import { describe, expect, it } from 'vitest'

import type { GroupResult } from './harness.js'
import type { SizeResult } from './sections/bundle-size.js'
import type { ScalingResult } from './sections/scaling.js'
import { evaluateTargets, renderTargets } from './targets.js'

const stats = (median: number) => ({ samples: 5, median, mad: 0, min: median, max: median })

function group(
  id: string,
  syncKitMs: number,
  others: readonly { name: string; kind: 'baseline' | 'peer'; ms: number }[],
): GroupResult {
  return {
    id,
    section: 1,
    operation: id,
    n: 10,
    perCall: 10,
    mode: 'macro',
    syncKit: { name: 'sync-kit', kind: 'sync-kit', stats: stats(syncKitMs) },
    others: others.map((o) => ({
      name: o.name,
      kind: o.kind,
      stats: stats(o.ms),
      ratio: o.ms / syncKitMs,
    })),
  }
}

describe('bench targets', () => {
  it('judges each target from the measurements and says what was not measured', () => {
    // Given a run where the batch append is at 0.6× the baseline, a peer is slower than sync-kit,
    // SQLite append is at 0.5× raw and the size section did not run
    const targets = evaluateTargets({
      groups: [
        group('memory.append.batch', 10, [
          { name: 'array + Map', kind: 'baseline', ms: 6 },
          { name: 'emmett 0.38.5', kind: 'peer', ms: 30 },
        ]),
        group('sqlite.append.batch', 10, [{ name: 'raw better-sqlite3', kind: 'baseline', ms: 5 }]),
      ],
      scaling: undefined,
      size: undefined,
    })
    const status = (start: string) => targets.find((t) => t.target.startsWith(start))?.status
    // Then each target is met, missed or not measured accordingly
    expect(status('memory-store append ≥ 0.5× the array + Map baseline (batches)')).toBe('met')
    expect(status('memory-store append ≥ 0.5× the array + Map baseline (one call')).toBe(
      'not measured',
    )
    expect(status('sync-kit faster than every peer')).toBe('met')
    expect(status('SQLite append')).toBe('missed')
    expect(status('core entry')).toBe('not measured')
    expect(renderTargets(targets)).toContain(
      'MISSED  SQLite append ≥ 0.7× raw better-sqlite3: 0.50×',
    )
  })

  it('compares SQLite peers with the SQLite store and flags growth beyond log n', () => {
    // Given a scaling run where emmett-sqlite is slower than the SQLite store but faster than the
    // memory store, and the SQLite load(since) doubles from 10k to 1M
    const aggregate: GroupResult = {
      ...group('scaling.sqlite.aggregate.10000', 5, [
        { name: 'emmett-sqlite 0.38.5', kind: 'peer', ms: 20 },
      ]),
      syncKit: { name: 'sync-kit SQLite', kind: 'sync-kit', stats: stats(5) },
    }
    const scaling: ScalingResult = {
      sizes: [10_000, 1_000_000],
      groups: [aggregate],
      series: [
        {
          op: 'load-since',
          name: 'sync-kit SQLite',
          kind: 'sync-kit',
          points: [
            { n: 10_000, ms: 1 },
            { n: 1_000_000, ms: 2 },
          ],
        },
        {
          op: 'load-since',
          name: 'sync-kit memory',
          kind: 'sync-kit',
          points: [
            { n: 10_000, ms: 1 },
            { n: 1_000_000, ms: 1.1 },
          ],
        },
      ],
      heap: [],
      table: [],
      failures: [],
    }
    const size: SizeResult = {
      source: 'dist',
      esbuild: '0',
      entries: [
        {
          entry: 'sync-kit',
          file: 'dist/index.js',
          minBytes: 30_000,
          gzipBytes: 9_000,
          largestInputs: [],
        },
        {
          entry: 'sync-kit/types',
          file: 'dist/types/index.js',
          minBytes: 0,
          gzipBytes: 0,
          largestInputs: [],
        },
      ],
    }
    const targets = evaluateTargets({ groups: [], scaling, size })
    const find = (part: string) => targets.find((t) => t.target.includes(part))
    // Then the peer comparison holds, memory load(since) is flat, SQLite's is not, sizes are met
    expect(find('faster than every peer')?.status).toBe('met')
    expect(
      find('load(since) flat from the smallest to the largest log (≤ 1.5×: log n), sync-kit memory')
        ?.status,
    ).toBe('met')
    expect(
      find('load(since) flat from the smallest to the largest log (≤ 1.5×: log n), sync-kit SQLite')
        ?.status,
    ).toBe('missed')
    expect(find('core entry')?.status).toBe('met')
    expect(find('sync-kit/types')?.status).toBe('met')
  })
})
