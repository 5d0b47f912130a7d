import { describe, expect, it } from 'vitest'

import type { GroupResult } from './harness.js'
import { formatMs, formatRatio, renderTable, tableRows } from './report.js'

const stats = (median: number) => ({
  samples: 3,
  median,
  mad: median / 10,
  min: median,
  max: median,
})

const group: GroupResult = {
  id: 'memory.append.batch',
  section: 1,
  operation: 'append 10 events',
  n: 10,
  perCall: 10,
  mode: 'macro',
  syncKit: { name: 'sync-kit', kind: 'sync-kit', stats: stats(2) },
  others: [
    { name: 'array + Map', kind: 'baseline', stats: stats(1), ratio: 0.5 },
    { name: 'logux 0.12.1', kind: 'peer', notMeasured: 'O(n²) insert: measured up to 10 events' },
  ],
}

describe('bench report', () => {
  it('formats durations in the unit that reads best', () => {
    expect(formatMs(2_310)).toBe('2.31 s')
    expect(formatMs(12.5)).toBe('12.5 ms')
    expect(formatMs(0.0034)).toBe('3.40 µs')
    expect(formatMs(0.000812)).toBe('812 ns')
    expect(formatRatio(0.456)).toBe('0.46×')
    expect(formatRatio(141.2)).toBe('141×')
  })

  it('gives one row per baseline or peer, with the ratio or the reason it was not measured', () => {
    const rows = tableRows([group])
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject({
      versus: 'array + Map (baseline)',
      syncKit: '2.00 ms ±10%',
      other: '1.00 ms ±10%',
      ratio: '0.50×',
      ratioValue: 0.5,
    })
    expect(rows[1]).toMatchObject({
      versus: 'logux 0.12.1',
      other: 'not measured: O(n²) insert: measured up to 10 events',
      ratio: '—',
    })
    const text = renderTable(rows)
    // The operation is printed once per group; long reasons get their own line.
    expect(text.match(/append 10 events/g)).toHaveLength(1)
    expect(text).toContain('logux 0.12.1: not measured: O(n²) insert')
  })
})
