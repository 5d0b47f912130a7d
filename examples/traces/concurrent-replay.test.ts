import { describe, expect, it } from 'vitest'

import { type EventWithVersion, SequenceVersion, VectorClock, isSyncKitError } from 'sync-kit'
import {
  CONCURRENT_DOCUMENT_ID,
  CONCURRENT_TXN_EVENT_TYPE,
  type DagClocks,
  checkRecordedEvents,
  dagClocks,
  dagRelation,
  isAncestor,
  mulberry32,
  runConcurrentReplay,
} from './concurrent-replay.js'
import { type ConcurrentTrace, bundledTracePath, loadTrace } from './trace-file.js'

/** A small concurrent trace from `[parents, agent]` pairs. */
function trace(numAgents: number, txns: readonly (readonly [number[], number])[]): ConcurrentTrace {
  return {
    kind: 'concurrent',
    endContent: '',
    numAgents,
    txns: txns.map(([parents, agent], i) => ({ parents, agent, patches: [[0, 0, `${i}`]] })),
  }
}

/** Ancestors of `b` by breadth-first search over the parents: the definition itself. */
function ancestorsByBfs(t: ConcurrentTrace, b: number): Set<number> {
  const seen = new Set<number>()
  const queue = [...(t.txns[b]?.parents ?? [])]
  while (queue.length > 0) {
    const p = queue.pop() as number
    if (seen.has(p)) continue
    seen.add(p)
    queue.push(...(t.txns[p]?.parents ?? []))
  }
  return seen
}

/**
 * The log a correct replica would hold: one event per txn in trace order, stamped as the
 * SyncManager stamps them (origin `agent-g`, causal = the txn's DAG vector clock).
 */
function idealLog(t: ConcurrentTrace, dag: DagClocks): EventWithVersion[] {
  return t.txns.map((txn, i) => {
    const entries: [string, number][] = []
    for (let a = 0; a < dag.numAgents; a++) {
      entries.push([`agent-${a}`, dag.clocks[i * dag.numAgents + a] as number])
    }
    return {
      event: {
        id: `txn-${i}`,
        type: CONCURRENT_TXN_EVENT_TYPE,
        aggregateId: CONCURRENT_DOCUMENT_ID,
        data: { i, patches: txn.patches },
        metadata: { origin: `agent-${txn.agent}`, causal: VectorClock.from(entries).toString() },
      },
      version: new SequenceVersion(i + 1),
    }
  })
}

// Two agents typing at once: 0 and 1 are concurrent roots, 2 (agent 0) sees 0, 3 (agent 1) merges
// everything, 4 (agent 0) is concurrent with 3, 5 (agent 1) merges again.
const DIAMONDS = trace(2, [
  [[], 0],
  [[], 1],
  [[0], 0],
  [[1, 2], 1],
  [[2], 0],
  [[3, 4], 1],
])

describe('dagClocks (ground truth)', () => {
  it('Given the real concurrent trace, when ancestry is read from the vector clocks, then it equals a BFS over the parents for sampled txns', async () => {
    // Given concurrent-friendsforever and 40 txns drawn by a seeded PRNG, plus the last txn
    const t = await loadTrace(bundledTracePath('concurrent-friendsforever.json.gz'))
    if (t.kind !== 'concurrent') throw new Error('expected a concurrent trace')
    const dag = dagClocks(t)
    const random = mulberry32(7)
    const targets = Array.from({ length: 40 }, () => Math.floor(random() * t.txns.length))
    targets.push(t.txns.length - 1)
    let concurrent = 0
    let checked = 0
    for (const b of targets) {
      // When each txn's ancestors are computed both ways
      const truth = ancestorsByBfs(t, b)
      for (let a = 0; a < t.txns.length; a++) {
        // Then the clock test agrees with the BFS for every other txn
        if (isAncestor(dag, a, b) !== truth.has(a)) {
          expect.fail(`txn ${a} vs ${b}: clocks say ${isAncestor(dag, a, b)}, BFS ${truth.has(a)}`)
        }
        if (a < b && !truth.has(a)) concurrent++
        checked++
      }
    }
    expect(checked).toBe(targets.length * t.txns.length)
    // and the sample did meet concurrent pairs, so the agreement is not trivial
    expect(concurrent).toBeGreaterThan(0)
  })

  it('Given a small DAG, when relations are asked, then before/after/concurrent/equal follow the parents', () => {
    const dag = dagClocks(DIAMONDS)
    expect(dagRelation(dag, 0, 1)).toBe('concurrent')
    expect(dagRelation(dag, 0, 3)).toBe('before')
    expect(dagRelation(dag, 3, 0)).toBe('after')
    expect(dagRelation(dag, 3, 4)).toBe('concurrent')
    expect(dagRelation(dag, 4, 5)).toBe('before')
    expect(dagRelation(dag, 2, 2)).toBe('equal')
    expect(Array.from(dag.seq)).toEqual([1, 1, 2, 2, 3, 3])
  })

  it('Given an agent whose txns are not totally ordered, when the clocks are computed, then it is rejected naming the txn', () => {
    // txn 1 is agent 0's second txn but does not follow its first
    const broken = trace(1, [
      [[], 0],
      [[], 0],
    ])
    expect(() => dagClocks(broken)).toThrow(/txns\[1\] of agent 0 does not follow/)
    try {
      dagClocks(broken)
    } catch (error) {
      expect(isSyncKitError(error, 'invalid-argument')).toBe(true)
    }
  })
})

describe('checkRecordedEvents', () => {
  const dag = dagClocks(DIAMONDS)

  it('Given ideal logs, when checked, then every pair matches and the replicas converged', () => {
    const check = checkRecordedEvents(DIAMONDS, dag, [
      idealLog(DIAMONDS, dag),
      idealLog(DIAMONDS, dag),
    ])
    expect(check).toMatchObject({
      pairsChecked: 15, // 6 · 5 / 2: every pair, no sampling needed
      relationMismatches: 0,
      causalOrderViolations: 0,
      converged: true,
      sampling: { allPairs: true, window: 5, windowPairs: 15, sampledPairs: 0 },
    })
  })

  it('Given a causal context that claims too much, when checked, then the wrong pairs are counted as mismatches', () => {
    // txn 4 (agent 0) claims it had seen txns 1 and 3 of agent 1 (agent-1:2), which it had not
    const log = idealLog(DIAMONDS, dag)
    const entry = log[4] as EventWithVersion
    log[4] = {
      ...entry,
      event: { ...entry.event, metadata: { origin: 'agent-0', causal: 'agent-0:3,agent-1:2' } },
    }
    const check = checkRecordedEvents(DIAMONDS, dag, [log])
    expect(check.relationMismatches).toBe(2)
    expect(check.problems).toEqual([
      'txn 1 vs txn 4: sync-kit says before, the parents DAG says concurrent',
      'txn 3 vs txn 4: sync-kit says before, the parents DAG says concurrent',
    ])
  })

  it('Given a log holding an event before its parent, when checked, then it is a causal-order violation', () => {
    const log = idealLog(DIAMONDS, dag)
    ;[log[2], log[3]] = [log[3] as EventWithVersion, log[2] as EventWithVersion]
    const check = checkRecordedEvents(DIAMONDS, dag, [idealLog(DIAMONDS, dag), log])
    expect(check.causalOrderViolations).toBe(1)
    expect(check.converged).toBe(true) // the same events, in another order
  })

  it('Given a replica missing an event or holding another copy, when checked, then it has not converged', () => {
    const missing = idealLog(DIAMONDS, dag).slice(0, 5)
    expect(checkRecordedEvents(DIAMONDS, dag, [idealLog(DIAMONDS, dag), missing]).converged).toBe(
      false,
    )
    const altered = idealLog(DIAMONDS, dag)
    const entry = altered[1] as EventWithVersion
    altered[1] = { ...entry, event: { ...entry.event, data: { i: 1, patches: [[0, 0, 'x']] } } }
    const check = checkRecordedEvents(DIAMONDS, dag, [idealLog(DIAMONDS, dag), altered])
    expect(check.converged).toBe(false)
    expect(check.problems).toContain('replicas 0 and 1 hold different copies of txn 1')
  })

  it('Given a window smaller than the trace, when checked, then the window and a seeded sample are counted and stated', () => {
    const logs = [idealLog(DIAMONDS, dag)]
    const check = checkRecordedEvents(DIAMONDS, dag, logs, { window: 2, seed: 9 })
    // window pairs: 1 + 2 + 2 + 2 + 2; sample: the default million
    expect(check.sampling).toEqual({
      allPairs: false,
      window: 2,
      windowPairs: 9,
      sampledPairs: 1_000_000,
      prng: 'mulberry32',
      seed: 9,
    })
    expect(check.pairsChecked).toBe(1_000_009)
    expect(check.relationMismatches).toBe(0)
  })

  it.each([
    [{ window: -1 }, 'window'],
    [{ sampledPairs: 1.5 }, 'sampledPairs'],
    [{ seed: Number.NaN }, 'seed'],
  ])('rejects the option %j', (options, name) => {
    expect(() => checkRecordedEvents(DIAMONDS, dag, [], options)).toThrow(
      `[sync-kit] [trace-demo] ${name} must be a non-negative integer`,
    )
  })
})

describe('runConcurrentReplay', () => {
  it('Given two agents typing at once, when replayed one replica per agent, then sync-kit reports exactly the DAG relation and the replicas converge', async () => {
    const progress: string[] = []
    const result = await runConcurrentReplay({
      trace: DIAMONDS,
      traceName: 'diamonds',
      onProgress: (line) => progress.push(line),
    })
    expect(result).toMatchObject({
      trace: 'diamonds',
      events: 6,
      replicas: 2,
      pairsChecked: 15,
      relationMismatches: 0,
      causalOrderViolations: 0,
      unexpectedPulls: 0,
      converged: true,
      passed: true,
      problems: [],
    })
    // pulled events concurrent with the puller's latest edits were reported as conflicts
    expect(result.conflictsDetected).toBeGreaterThan(0)
    expect(progress.at(-1)).toContain('checking the recorded events')
  })

  it('Given three agents where a pull brings events pushed for another agent, when replayed, then the extra events are reported and the run fails', async () => {
    // 2 (agent 1) needs 0: agent 0 pushes 0. 4 (agent 2) needs 1: agent 1 pushes 1, and agent 2's
    // pull also brings 0, which 4 does not follow.
    const threeAgents = trace(3, [
      [[], 0],
      [[], 1],
      [[0, 1], 1],
      [[], 2],
      [[3, 1], 2],
    ])
    const result = await runConcurrentReplay({ trace: threeAgents })
    expect(result.unexpectedPulls).toBe(1)
    expect(result.problems[0]).toBe(
      'agent-2 pulled txn 0 before writing txn 4, which does not follow it',
    )
    // and the relation check sees the consequence rather than hiding it
    expect(result.relationMismatches).toBeGreaterThan(0)
    expect(result.passed).toBe(false)
  })

  it('Given three agents whose pulls bring only ancestors, when replayed, then it passes', async () => {
    const chainOfThree = trace(3, [
      [[], 0],
      [[0], 1],
      [[], 2],
      [[1, 2], 2],
      [[3], 0],
      [[1], 1],
    ])
    const result = await runConcurrentReplay({ trace: chainOfThree })
    expect(result).toMatchObject({ relationMismatches: 0, unexpectedPulls: 0, passed: true })
  })

  it('Given a sequential trace, when replayed, then it is refused as the wrong kind', async () => {
    const sequential = { kind: 'sequential', startContent: '', endContent: '', txns: [] } as const
    await expect(runConcurrentReplay({ trace: sequential })).rejects.toSatisfy(
      (error) =>
        isSyncKitError(error, 'invalid-argument') &&
        error.details.argument === 'trace' &&
        error.message.includes('needs a concurrent trace'),
    )
  })
})
