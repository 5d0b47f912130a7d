import { describe, expect, it } from 'vitest'

import { runTraceDemo } from './traces/replay.js'
import { bundledTracePath, loadTrace } from './traces/trace-file.js'

const TRACE = bundledTracePath('sequential-friendsforever_flat.json.gz')

describe('npm run demo (issue 2 §7)', () => {
  // 26k events through 3 replicas takes a few seconds; the generous timeout is for a loaded CI box.
  it(
    'converges on the friendsforever_flat trace with 3 replicas taking turns',
    { timeout: 120_000 },
    async () => {
      // Given the real two-author trace (26,078 txns) and 3 replicas writing 1,000 txns per turn
      const trace = await loadTrace(TRACE)
      const progress: string[] = []
      // When the demo replays it through memory stores, a loopback hub and SyncManagers
      const result = await runTraceDemo({
        trace: TRACE,
        replicas: 3,
        segment: 1_000,
        onProgress: (line) => progress.push(line),
      })
      // Then every replica holds one event per txn and projects exactly endContent
      expect(result).toMatchObject({
        trace: 'sequential-friendsforever_flat.json.gz',
        events: trace.txns.length,
        replicas: 3,
        converged: true,
        turns: Math.ceil(trace.txns.length / 1_000),
        // every writer had synced before writing, so no two events are concurrent
        conflicts: 0,
      })
      expect(result.events).toBe(26_078)
      expect(result.replicaReports.map((r) => [r.nodeId, r.events, r.matches])).toEqual([
        ['r0', 26_078, true],
        ['r1', 26_078, true],
        ['r2', 26_078, true],
      ])
      expect(result.eventsPerSec).toBeGreaterThan(0)
      // and it reported progress along the way
      expect(progress.some((line) => line.includes('100%'))).toBe(true)
    },
  )
})
