/**
 * The measuring loop: runs sync-kit, the baseline and the peers side by side on the same events,
 * with tinybench doing the timing, warm-ups and hooks, and summarises each contender's samples.
 *
 * Rounds interleave the contenders (A B C, then B C A, …) so a burst of load from another
 * process on this shared machine lands on all of them rather than on one, and a fresh tinybench
 * `Bench` per round keeps the order rotating. Untimed `before`/`after` hooks build and drop the
 * state each sample needs (a fresh store, a filled log), and a full GC runs before every sample
 * when Node was started with `--expose-gc`, so garbage left by one contender is not collected on
 * another's clock.
 *
 * @module
 */
import { Bench } from 'tinybench'

import { type SampleStats, ratio, summarize } from './stats.js'

/** Who a contender is: sync-kit itself, the physical baseline, or a library users pick instead. */
export type ContenderKind = 'sync-kit' | 'baseline' | 'peer'

/** One implementation of an operation. */
export interface Contender {
  /** Display name, e.g. `sync-kit`, `array + Map`, `emmett 0.38.5`. */
  readonly name: string
  /** sync-kit, baseline or peer. */
  readonly kind: ContenderKind
  /** What this contender does differently, when it cannot do exactly the same thing. */
  readonly note?: string
  /**
   * For a baseline: the one definition of the operation it runs (e.g. `append: array + Map`), the
   * same function in every group that shows it. Two groups whose baselines share a definition and
   * an event count run the very same work, so their times must agree: `baselineChecks` says
   * whether they did.
   */
  readonly definition?: string
  /** Untimed set-up before every sample (warm-ups included). */
  readonly before?: () => unknown
  /**
   * The timed work. Returns the number of events it handled, which the harness checks against
   * the group's `expect` on every call, so a contender that silently does less fails loudly.
   */
  readonly run: () => number | Promise<number>
  /** Untimed clean-up after every sample. */
  readonly after?: () => unknown
  /**
   * True when `run` is synchronous: it is then timed without an `await`, whose microtask turn
   * would dominate sub-microsecond operations.
   * @defaultValue false
   */
  readonly sync?: boolean
}

/** How to sample. */
export interface SamplingOptions {
  /**
   * `macro`: one call per sample, one sample per round (whole-log operations, 10 ms and up).
   * `micro`: each round runs each contender for `microTimeMs`, one sample per call.
   */
  readonly mode: 'macro' | 'micro'
  /** Rounds (macro: also the number of samples per contender). */
  readonly rounds: number
  /** Untimed warm-up calls per contender before the first round. */
  readonly warmups: number
  /** Time budget of one contender in one micro round, in ms. @defaultValue 100 */
  readonly microTimeMs?: number
  /**
   * Run a full GC before every macro sample and every micro round (with `--expose-gc`). The quick
   * smoke run turns it off: it checks that everything runs, and a full GC of a heap holding the
   * parsed trace takes a noticeable fraction of a second on a loaded machine.
   * @defaultValue true
   */
  readonly gc?: boolean
}

/** A contender's outcome. */
export interface ContenderResult {
  /** As in {@link Contender}. */
  readonly name: string
  /** As in {@link Contender}. */
  readonly kind: ContenderKind
  /** As in {@link Contender}. */
  readonly note?: string
  /** As in {@link Contender}. */
  readonly definition?: string
  /** Time per call, in ms; absent when not measured. */
  readonly stats?: SampleStats
  /** Why it was not measured (a peer that does not run here, a size it cannot reach in time). */
  readonly notMeasured?: string
  /** The error it failed with: a failed benchmark, reported and counted as a failure. */
  readonly error?: string
}

/** A skipped contender: listed in the results with the reason. */
export interface SkippedContender {
  /** Display name. */
  readonly name: string
  /** sync-kit, baseline or peer. */
  readonly kind: ContenderKind
  /** Why it is not measured. */
  readonly notMeasured: string
}

/** One operation measured on the same events by every contender. */
export interface Group {
  /** Stable id, e.g. `memory.append.single`. */
  readonly id: string
  /** Section number of the issue (1 memory, 2 SQLite, 3 end-to-end, 4 scaling). */
  readonly section: number
  /** What is measured, for the table. */
  readonly operation: string
  /** Events in the log the operation works on. */
  readonly n: number
  /** Events each call must report having handled. */
  readonly expect: number
  /** Events handled by one call, for the per-event figure (defaults to `expect`). */
  readonly perCall?: number
  /** The contenders; the first must be sync-kit. */
  readonly contenders: readonly (Contender | SkippedContender)[]
}

/** A measured group: one row per comparison in the printed table. */
export interface GroupResult {
  /** As in {@link Group}. */
  readonly id: string
  /** As in {@link Group}. */
  readonly section: number
  /** As in {@link Group}. */
  readonly operation: string
  /** As in {@link Group}. */
  readonly n: number
  /** Events handled by one call. */
  readonly perCall: number
  /** Sampling mode. */
  readonly mode: 'macro' | 'micro'
  /** sync-kit's result. */
  readonly syncKit: ContenderResult
  /** The baseline's and peers' results, each with the ratio to sync-kit. */
  readonly others: readonly (ContenderResult & { readonly ratio?: number })[]
}

declare const gc: (() => void) | undefined

/** Runs a full garbage collection when Node was started with `--expose-gc`. */
export function collectGarbage(): void {
  if (typeof gc === 'function') gc()
}

function isSkipped(c: Contender | SkippedContender): c is SkippedContender {
  return 'notMeasured' in c
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/**
 * Measures one group: every contender on the same operation, interleaved round by round.
 * @param group - the operation and its contenders (sync-kit first).
 * @param sampling - macro or micro sampling, rounds and warm-ups.
 * @returns the medians and spreads, and each other contender's ratio to sync-kit.
 * @throws Error when the group's first contender is not sync-kit (a programming error of a
 * section); a contender that throws or handles the wrong number of events is reported in its
 * result's `error` instead.
 * @example
 * ```ts
 * import { measureGroup } from './harness.js'
 *
 * const result = await measureGroup(
 *   { id: 'x', section: 1, operation: 'sum', n: 3, expect: 3, contenders: [
 *     { name: 'sync-kit', kind: 'sync-kit', sync: true, run: () => [1, 2, 3].length },
 *   ] },
 *   { mode: 'micro', rounds: 2, warmups: 10, microTimeMs: 20 },
 * )
 * ```
 */
export async function measureGroup(group: Group, sampling: SamplingOptions): Promise<GroupResult> {
  const [first] = group.contenders
  if (first === undefined || first.kind !== 'sync-kit') {
    throw new Error(`[sync-kit] [bench] group ${group.id}: the first contender must be sync-kit`)
  }
  const active = group.contenders.filter((c): c is Contender => !isSkipped(c))
  const samples = new Map<Contender, number[]>(active.map((c) => [c, []]))
  const errors = new Map<Contender, string>()
  for (let round = 0; round < sampling.rounds; round++) {
    const live = active.filter((c) => !errors.has(c))
    if (live.length === 0) break
    const bench = new Bench({
      name: group.id,
      retainSamples: true,
      throws: true,
      warmup: round === 0 && sampling.warmups > 0,
      warmupIterations: sampling.warmups,
      warmupTime: 0,
      iterations: sampling.mode === 'macro' ? 1 : 5,
      time: sampling.mode === 'macro' ? 0 : (sampling.microTimeMs ?? 100),
    })
    // Rotate the order every round.
    const order = live.map((_, i) => live[(i + round) % live.length] as Contender)
    for (const contender of order) {
      const check = (count: number): void => {
        if (count !== group.expect) {
          throw new Error(
            `[sync-kit] [bench] ${group.id}: ${contender.name} handled ${count} events, expected ${group.expect}`,
          )
        }
      }
      const fn = contender.sync
        ? (): void => check(contender.run() as number)
        : async (): Promise<void> => check(await contender.run())
      const prepare = contender.before
      bench.add(contender.name, fn, {
        async: contender.sync !== true,
        beforeEach: async () => {
          if (prepare !== undefined) await prepare()
          if (sampling.mode === 'macro' && sampling.gc !== false) collectGarbage()
        },
        ...(contender.after === undefined
          ? {}
          : {
              afterEach: async () => {
                await contender.after?.()
              },
            }),
        ...(sampling.mode === 'micro' && sampling.gc !== false
          ? { beforeAll: collectGarbage }
          : {}),
      })
    }
    try {
      await bench.run()
    } catch {
      // `throws: true` stops at the first failing task; the per-task results below say which.
    }
    for (const task of bench.tasks) {
      const contender = order.find((c) => c.name === task.name) as Contender
      const result = task.result
      if (result.state === 'errored') {
        errors.set(contender, describeError(result.error))
      } else if (result.state === 'completed') {
        // A loop, not push(...samples): a micro round can take more samples than a call takes
        // arguments.
        const list = samples.get(contender) as number[]
        for (const sample of result.latency.samples ?? []) list.push(sample)
      } else if (!errors.has(contender)) {
        // A task after a failing one in the same round did not run: it runs again next round.
      }
    }
  }
  const results = group.contenders.map((c): ContenderResult => {
    const base = { name: c.name, kind: c.kind }
    if (isSkipped(c)) return { ...base, notMeasured: c.notMeasured }
    const withNote = {
      ...base,
      ...(c.note === undefined ? {} : { note: c.note }),
      ...(c.definition === undefined ? {} : { definition: c.definition }),
    }
    const error = errors.get(c)
    if (error !== undefined) return { ...withNote, error }
    const list = samples.get(c) ?? []
    if (list.length === 0) return { ...withNote, error: 'no samples were taken' }
    return { ...withNote, stats: summarize(list) }
  })
  const syncKit = results[0] as ContenderResult
  return {
    id: group.id,
    section: group.section,
    operation: group.operation,
    n: group.n,
    perCall: group.perCall ?? group.expect,
    mode: sampling.mode,
    syncKit,
    others: results.slice(1).map((other) => {
      if (syncKit.stats === undefined || other.stats === undefined) return other
      const r = ratio(syncKit.stats, other.stats)
      return r === undefined ? other : { ...other, ratio: r }
    }),
  }
}
