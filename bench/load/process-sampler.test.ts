import { describe, expect, it } from 'vitest'

import { ProcessSampler, cpuMsFromStat, kbField } from './process-sampler.js'

describe('load test process sampler', () => {
  it('reads user + system CPU time from a stat line whose command name holds spaces', () => {
    // Fields 14 and 15 of proc(5) are 250 and 50 ticks.
    const stat =
      '4242 (node server (x)) S 1 4242 4242 0 -1 4194304 1234 0 0 0 250 50 0 0 20 0 11 0 100 0 0'
    expect(cpuMsFromStat(stat, 100)).toBe(3000)
    expect(() => cpuMsFromStat('garbage', 100)).toThrow(/not a \/proc/)
  })

  it('reads kB fields of a status file in bytes, 0 when absent', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n'
    expect(kbField(status, 'VmRSS')).toBe(100 * 1024 * 1024)
    expect(kbField(status, 'VmHWM')).toBe(200 * 1024 * 1024)
    expect(kbField(status, 'VmSwap')).toBe(0)
  })

  it.runIf(process.platform === 'linux')(
    'samples this process: RSS above 0, CPU while busy',
    () => {
      const sampler = new ProcessSampler({ self: [process.pid] })
      const from = performance.now()
      sampler.sample()
      const until = performance.now() + 60
      let spin = 0
      while (performance.now() < until) spin++
      sampler.sample()
      const summary = sampler.summary('self', from, performance.now())
      expect(spin).toBeGreaterThan(0)
      expect(summary.samples).toBe(2)
      expect(summary.rssPeakMiB).toBeGreaterThan(10)
      expect(summary.cpuPercentMean).toBeGreaterThan(0)
    },
  )
})
