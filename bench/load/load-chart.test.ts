import { describe, expect, it } from 'vitest'

import { renderLoadChart } from './load-chart.js'
import type { LoadReport } from './load-report.js'

function run(clients: number, p99: number, passed: boolean): LoadReport {
  const summary = { n: 100, p50: p99 / 4, p99, max: p99 * 2, mean: p99 / 3 }
  return {
    options: { clients, rate: 5, durationS: 60 },
    machine: { date: '2026-12-01T12:00:00.000Z', cpus: 2 },
    latencyMs: {
      pushRoundTrip: summary,
      recordToAck: summary,
      liveDelivery: summary,
      censored: { recordToAck: passed ? 0 : 10, liveDelivery: 0 },
    },
    check: { passed, failures: passed ? [] : ['clients did not settle within 15 s'] },
    settle: { settled: passed, afterWritersStopMs: passed ? 100 : null },
  } as unknown as LoadReport
}

describe('load test chart', () => {
  it('draws p50 and p99 lines per latency against clients, and marks failed runs', () => {
    const svg = renderLoadChart([run(100, 4000, false), run(10, 20, true), run(50, 300, true)])
    expect(svg.startsWith('<svg')).toBe(true)
    // Three panels, each with a p50 and a p99 line
    expect(svg.match(/<polyline/g)).toHaveLength(6)
    expect(svg).toContain('record → ack')
    expect(svg).toContain('100 clients: never settled; percentiles are lower bounds')
    expect(svg).toContain('fill="#ffffff" stroke="#0a9d8f"')
  })
})
