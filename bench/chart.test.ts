import { describe, expect, it } from 'vitest'

import { renderChart } from './chart.js'
import type { BenchResults } from './run.js'

function resultsWith(series: NonNullable<BenchResults['scaling']>['series']): BenchResults {
  return {
    meta: {
      mode: 'quick',
      date: '2026-11-29T00:00:00.000Z',
      seconds: 1,
      commit: 'abc',
      node: 'v20.20.2',
      v8: '11',
      os: 'linux',
      cpu: 'cpu × 2',
      memoryGiB: 24,
      loadAverage: { start: 1, end: 1 },
      exposeGc: true,
      sections: [4],
    },
    table: [],
    targets: [],
    groups: [],
    scaling: { sizes: [10_000, 1_000_000], groups: [], series, heap: [], table: [], failures: [] },
    failures: [],
  }
}

describe('bench chart', () => {
  it('draws one line per contender and operation on log axes, with a legend', () => {
    // Given sync-kit and a baseline measured at two sizes
    const svg = renderChart(
      resultsWith([
        {
          op: 'append',
          name: 'sync-kit memory',
          kind: 'sync-kit',
          points: [
            { n: 10_000, ms: 0.001 },
            { n: 1_000_000, ms: 0.002 },
          ],
        },
        {
          op: 'append',
          name: 'array + Map',
          kind: 'baseline',
          points: [
            { n: 10_000, ms: 0.0001 },
            { n: 1_000_000, ms: 0.0001 },
          ],
        },
      ]),
    )
    // Then the SVG has both lines (the baseline dashed), decade ticks and the legend
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg.match(/<polyline/g)).toHaveLength(2)
    expect(svg).toContain('stroke-dasharray')
    expect(svg).toContain('>10k<')
    expect(svg).toContain('>1M<')
    expect(svg).toContain('array + Map (baseline)')
    // Panels without data say so rather than drawing empty axes
    expect(svg).toContain('not measured')
  })

  it('escapes names so a contender name cannot break the markup', () => {
    const svg = renderChart(
      resultsWith([
        { op: 'aggregate', name: 'a<b>&c', kind: 'peer', points: [{ n: 10_000, ms: 1 }] },
      ]),
    )
    expect(svg).toContain('a&lt;b&gt;&amp;c')
    expect(svg).not.toContain('a<b>')
  })
})
