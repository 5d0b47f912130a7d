/**
 * Section 5: heap bytes per stored event in the memory store, against the raw event objects the
 * store was given (and a plain array + Map holding references to them).
 *
 * Measured with `process.memoryUsage().heapUsed` after two full GCs (`--expose-gc`), around
 * building each structure; the events are the automerge-paper txns on one document. The memory
 * store validates and deep-copies every event on the way in (then freezes the copy), so its bytes
 * include a full copy of each event plus its indexes; the raw objects can be dropped once stored.
 *
 * @module
 */
import { createMemoryStore, type Event } from '../../src/index.js'
import { type BenchContext, count } from '../context.js'
import { collectGarbage } from '../harness.js'
import { type TableRow, formatRatio } from '../report.js'
import { chunks, traceEvents } from '../trace-events.js'

/** What section 5 measured. */
export interface HeapResult {
  /** Events stored. */
  readonly n: number
  /** Heap bytes per event of the raw event objects (as parsed, before any store sees them). */
  readonly rawBytesPerEvent: number
  /** Heap bytes per event of the memory store holding them (its own copies and indexes). */
  readonly storeBytesPerEvent: number
  /** Heap bytes per event of an array + Map (id → position) referencing the raw objects. */
  readonly arrayMapBytesPerEvent: number
  /**
   * Heap bytes per event of the plain array of the same objects: the raw objects and the array
   * slots holding them (what keeping the events costs at the least).
   */
  readonly plainArrayBytesPerEvent: number
  /** `storeBytesPerEvent / plainArrayBytesPerEvent`: the target is ≤ 1.5. */
  readonly storeToPlainArray: number
  /** `storeBytesPerEvent / rawBytesPerEvent`. */
  readonly storeToRaw: number
  /** Why it was not measured (no `--expose-gc`). */
  readonly notMeasured?: string
}

function heapUsed(): number {
  collectGarbage()
  collectGarbage()
  return process.memoryUsage().heapUsed
}

/**
 * Runs section 5.
 * @param ctx - the run's context.
 * @returns bytes per event of the raw objects, the store and the array + Map.
 * @example
 * ```ts
 * import { runHeapSection } from './sections/heap.js'
 *
 * const heap = await runHeapSection(ctx)
 * ```
 */
export async function runHeapSection(ctx: BenchContext): Promise<HeapResult> {
  const n = ctx.plan.traceEvents
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    return {
      n,
      rawBytesPerEvent: 0,
      storeBytesPerEvent: 0,
      arrayMapBytesPerEvent: 0,
      plainArrayBytesPerEvent: 0,
      storeToPlainArray: 0,
      storeToRaw: 0,
      notMeasured: 'start Node with --expose-gc (npm run bench does)',
    }
  }
  ctx.log(`[bench] 5 heap: ${count(n)} events`)
  const h0 = heapUsed()
  const events = traceEvents(ctx.trace, { count: n })
  const h1 = heapUsed()
  const store = createMemoryStore()
  for (const batch of chunks(events, 1_000)) await store.storeBatch(batch)
  const h2 = heapUsed()
  const array: Event[] = []
  for (const event of events) array.push(event)
  const h3 = heapUsed()
  const byId = new Map<string, number>()
  for (let i = 0; i < events.length; i++) byId.set((events[i] as Event).id, i)
  const h4 = heapUsed()
  // Keep everything alive until the last measurement.
  if (store.size !== n || array.length !== n || byId.size !== n) {
    throw new Error('[sync-kit] [bench] heap: a structure lost events')
  }
  const raw = (h1 - h0) / n
  const stored = (h2 - h1) / n
  const plain = raw + (h3 - h2) / n
  return {
    n,
    rawBytesPerEvent: Math.round(raw),
    storeBytesPerEvent: Math.round(stored),
    arrayMapBytesPerEvent: Math.round((h4 - h2) / n),
    plainArrayBytesPerEvent: Math.round(plain),
    storeToPlainArray: stored / plain,
    storeToRaw: stored / raw,
  }
}

/**
 * The table rows of section 5.
 * @param heap - the section's result.
 * @returns one row: store bytes per event against the raw objects'.
 * @example
 * ```ts
 * import { heapRows } from './sections/heap.js'
 *
 * heapRows(heap)
 * ```
 */
export function heapRows(heap: HeapResult): TableRow[] {
  const operation = `heap bytes per stored event (${count(heap.n)} events)`
  if (heap.notMeasured !== undefined) {
    return [
      {
        section: 5,
        id: 'heap',
        operation,
        syncKit: '—',
        versus: 'raw event objects',
        other: `not measured: ${heap.notMeasured}`,
        ratio: '—',
      },
    ]
  }
  return [
    {
      section: 5,
      id: 'heap',
      operation,
      syncKit: `${heap.storeBytesPerEvent} B`,
      versus: 'plain array of the same objects (baseline)',
      other: `${heap.plainArrayBytesPerEvent} B`,
      ratio: `store = ${formatRatio(heap.storeToPlainArray)} array`,
      note: `the raw objects alone: ${heap.rawBytesPerEvent} B (store = ${formatRatio(heap.storeToRaw)} raw); an array + Map referencing them adds ${heap.arrayMapBytesPerEvent} B per event`,
    },
  ]
}
