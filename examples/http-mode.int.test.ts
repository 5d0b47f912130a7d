import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

import { createDemoSetup } from './http-mode.js'
import { runTraceDemo } from './traces/replay.js'
import { bundledTracePath } from './traces/trace-file.js'
import type { SequentialTrace } from './traces/trace-file.js'
import { SEQUENTIAL_SUMMARY_KEYS, runDemoCommand } from './demo-command.fixture.js'

const TRACE = bundledTracePath('sequential-friendsforever_flat.json.gz')

describe('npm run demo -- --transport http --store sqlite (issue 3 §3)', () => {
  it('converges on friendsforever_flat through a real server process restarted halfway, with SQLite replicas', async () => {
    // Given the demo in HTTP + SQLite mode, started as `npm run demo` starts it
    // When it replays the friendsforever_flat trace (26,078 txns, 3 replicas)
    // Then it exits 0 with the same JSON summary line as the memory mode
    const { summary, stderr } = await runDemoCommand([
      '--trace',
      TRACE,
      '--transport',
      'http',
      '--store',
      'sqlite',
    ])
    expect(Object.keys(summary)).toEqual(SEQUENTIAL_SUMMARY_KEYS)
    expect(summary).toMatchObject({
      trace: 'sequential-friendsforever_flat.json.gz',
      events: 26_078,
      replicas: 3,
      converged: true,
    })
    // And the server was a separate process that was restarted once, halfway, and never warned
    const started = /sync server http:\/\/127\.0\.0\.1:\d+ \(pid \d+\) on (\S+)\/server\.db/.exec(
      stderr,
    )
    expect(started).not.toBeNull()
    expect(stderr.match(/restarted the sync server halfway \(pid (\d+) → (\d+)\)/g)).toHaveLength(1)
    const [, oldPid, newPid] = /restarted the sync server halfway \(pid (\d+) → (\d+)\)/.exec(
      stderr,
    ) as RegExpExecArray
    expect(newPid).not.toBe(oldPid)
    expect(stderr).not.toContain('[sync-server]')
    expect(stderr).toContain('sqlite replicas, http server process on sqlite')
    for (const replica of ['r0', 'r1', 'r2']) {
      expect(stderr).toContain(`replica ${replica}: 26078 events, document equals endContent`)
    }
    // And its temporary database directory is gone
    const directory = started?.[1] ?? ''
    expect(directory).toMatch(/sync-kit-demo-/)
    expect(existsSync(directory)).toBe(false)
  })

  it('restarts the server even when a single turn writes everything, and converges with memory replicas', async () => {
    // Given memory replicas talking to a real server process, and a trace shorter than one turn
    const trace: SequentialTrace = {
      kind: 'sequential',
      startContent: 'ab',
      endContent: 'xaby',
      txns: [{ patches: [[0, 0, 'x']] }, { patches: [[3, 0, 'y']] }],
    }
    const progress: string[] = []
    const setup = await createDemoSetup({
      transport: 'http',
      store: 'memory',
      onProgress: (line) => progress.push(line),
    })
    if (setup?.server === undefined) throw new Error('expected a server')
    try {
      // When 2 replicas replay it with a segment larger than the trace
      const result = await runTraceDemo({ trace, replicas: 2, segment: 100, setup })
      // Then the server was restarted once (before the final syncs) and both replicas converge
      expect(setup.server.starts).toBe(2)
      expect(progress.filter((line) => line.includes('restarted the sync server'))).toHaveLength(1)
      expect(result).toMatchObject({ events: 2, turns: 1, converged: true })
    } finally {
      await setup.close()
    }
  })
})

describe('npm run demo -- --transport ws (issue 13)', () => {
  it('converges on friendsforever_flat over WebSocket through a real server process restarted halfway', async () => {
    // Given the demo in WebSocket mode: the same `sync-kit serve` process, reached on /v1/ws
    // When it replays the friendsforever_flat trace (3 replicas, memory stores)
    const { summary, stderr } = await runDemoCommand(['--trace', TRACE, '--transport', 'ws'])
    // Then it converges, through the halfway restart (every socket reconnects and resumes)
    expect(summary).toMatchObject({ events: 26_078, replicas: 3, converged: true })
    expect(stderr).toContain('memory replicas, ws server process on sqlite')
    expect(stderr.match(/restarted the sync server halfway/g)).toHaveLength(1)
    expect(stderr).not.toContain('[sync-server]')
  })
})
