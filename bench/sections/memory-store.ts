/**
 * Section 1: the memory store against a plain array + Map (the physical baseline), logux's
 * `MemoryStore` and emmett's in-memory event store, on the automerge-paper events.
 *
 * The trace is one document, so the append and load operations work on one aggregate (`doc`, one
 * emmett stream); the aggregate lookup uses the same events spread round-robin over 1,000
 * aggregates. logux's `MemoryStore.add` scans the whole log for each new entry (O(n) per event,
 * O(n²) for a log), so logux is measured on a shorter log, `plan.quadraticCap` events, together
 * with sync-kit and the baseline on that same log.
 *
 * @module
 */
import { createMemoryStore, type Event, type MemoryStore, type Version } from '../../src/index.js'
import { type BenchContext, count, skipped } from '../context.js'
import { type Group, type GroupResult, measureGroup } from '../harness.js'
import {
  type EmmettEvent,
  type EmmettEventStore,
  type EmmettModule,
  type LoadedPeer,
  type LoguxModule,
  type MissingPeer,
  emmettEvent,
  isLoaded,
  loadEmmett,
  loadLogux,
  loguxEntry,
} from '../peers.js'
import { type TxnEvent, chunks, traceEvents } from '../trace-events.js'

/** Page size of paged loads and batch size of batched appends. */
export const PAGE = 1_000
/** Aggregates of the aggregate-lookup log. */
export const AGGREGATES = 1_000

interface Peers {
  readonly logux: LoadedPeer<LoguxModule> | MissingPeer
  readonly emmett: LoadedPeer<EmmettModule> | MissingPeer
}

/** The baseline log: an array of events and a Map from id to position. */
interface ArrayLog {
  readonly events: Event[]
  readonly byId: Map<string, number>
}

function arrayAppend(log: ArrayLog, event: Event): void {
  log.byId.set(event.id, log.events.length)
  log.events.push(event)
}

/**
 * The one append baseline, shared by every group that shows it (batches or one call per event:
 * the same loop over the same batches), so that the same work is timed the same way everywhere.
 */
function appendAll(log: ArrayLog, batches: readonly (readonly Event[])[]): number {
  for (const batch of batches) for (const event of batch) arrayAppend(log, event)
  return log.events.length
}

/** One async call per event, awaited: the least an async `store(event)` per event costs. */
async function appendOne(log: ArrayLog, event: Event): Promise<void> {
  arrayAppend(log, event)
}

/** The awaited-loop baseline of one call per event. */
async function appendAllAwaited(log: ArrayLog, events: readonly Event[]): Promise<number> {
  for (const event of events) await appendOne(log, event)
  return log.events.length
}

/** Definitions of the append baselines (see `Contender.definition`). */
const APPEND = 'append: array + Map'
const APPEND_AWAITED = 'append: array + Map, one awaited async call per event'

async function filledMemoryStore(events: readonly Event[]): Promise<MemoryStore> {
  const store = createMemoryStore()
  for (const batch of chunks(events, PAGE)) await store.storeBatch(batch)
  return store
}

async function filledEmmett(
  emmett: EmmettModule,
  events: readonly Event[],
): Promise<EmmettEventStore> {
  const store = emmett.getInMemoryEventStore()
  // One appendToStream per run of same-aggregate events (emmett appends to one stream per call).
  let start = 0
  for (let i = 1; i <= events.length; i++) {
    if (i === events.length || events[i]?.aggregateId !== events[start]?.aggregateId) {
      // At most 1,000 per call: emmett spreads a call's events into one function call's arguments.
      for (const run of chunks(events.slice(start, i), PAGE)) {
        await store.appendToStream((run[0] as Event).aggregateId, run.map(emmettEvent))
      }
      start = i
    }
  }
  return store
}

async function filledLogux(
  logux: LoguxModule,
  events: readonly Event[],
  indexed: boolean,
): Promise<InstanceType<LoguxModule['MemoryStore']>> {
  const store = new logux.MemoryStore()
  await store.add(events.map((e, i) => loguxEntry(e, i, indexed)))
  return store
}

/** Loads the whole sync-kit log page by page; returns the number of events read. */
async function loadAllPages(store: MemoryStore): Promise<number> {
  let since: Version | null = null
  let total = 0
  for (;;) {
    const page = await store.load(since, { limit: PAGE })
    total += page.length
    const last = page.at(-1)
    if (last === undefined || page.length < PAGE) return total
    since = last.version
  }
}

function appendGroups(events: readonly TxnEvent[], peers: Peers, cap: number): Group[] {
  const n = events.length
  let store: MemoryStore = createMemoryStore()
  let log: ArrayLog = { events: [], byId: new Map() }
  // Each contender empties its log again after every sample (`after`), so that every sample runs
  // on the same live heap: a full log left by the previous contender made the next one's GC work
  // on a bigger heap (the same baseline loop took 1.8× longer in one group than in another).
  const fresh = {
    syncKit: (): void => {
      store = createMemoryStore()
    },
    array: (): void => {
      log = { events: [], byId: new Map() }
    },
  }
  const batches = chunks(events, PAGE)

  const single = (size: number, withPeers: boolean): Group => {
    const slice = events.slice(0, size)
    const sliceBatches = chunks(slice, PAGE)
    const contenders: Group['contenders'][number][] = [
      {
        name: 'sync-kit',
        kind: 'sync-kit',
        before: fresh.syncKit,
        after: fresh.syncKit,
        run: async () => {
          for (const event of slice) await store.store(event)
          return store.size
        },
      },
      {
        name: 'array + Map, await per event',
        kind: 'baseline',
        definition: APPEND_AWAITED,
        note: 'an awaited async call per event',
        before: fresh.array,
        after: fresh.array,
        run: () => appendAllAwaited(log, slice),
      },
      {
        name: 'array + Map',
        kind: 'baseline',
        definition: APPEND,
        note: 'the loop of the batch group, checked to take the same time there',
        sync: true,
        before: fresh.array,
        after: fresh.array,
        run: () => appendAll(log, sliceBatches),
      },
    ]
    if (withPeers) {
      const { emmett, logux } = peers
      if (isLoaded(emmett)) {
        let es: EmmettEventStore = emmett.module.getInMemoryEventStore()
        let input: EmmettEvent[] = []
        contenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'appendToStream(doc, [event]) per event',
          before: () => {
            es = emmett.module.getInMemoryEventStore()
            input = slice.map(emmettEvent)
          },
          after: () => {
            es = emmett.module.getInMemoryEventStore()
            input = []
          },
          run: async () => {
            let length = 0n
            for (const e of input)
              length = (await es.appendToStream('doc', [e])).nextExpectedStreamVersion
            return Number(length)
          },
        })
      } else contenders.push(skipped(emmett.name, 'peer', emmett.reason))
      if (isLoaded(logux)) {
        let ls = new logux.module.MemoryStore()
        let input = slice.map((e, i) => loguxEntry(e, i, false))
        contenders.push({
          name: logux.name,
          kind: 'peer',
          note: 'MemoryStore.add([entry]) per event',
          before: () => {
            ls = new logux.module.MemoryStore()
            input = slice.map((e, i) => loguxEntry(e, i, false))
          },
          after: () => {
            ls = new logux.module.MemoryStore()
          },
          run: async () => {
            let added = 0
            for (const entry of input) if ((await ls.add([entry]))[0] !== false) added++
            return added
          },
        })
      } else contenders.push(skipped(logux.name, 'peer', logux.reason))
    }
    return {
      id: `memory.append.single${size === n ? '' : `.${size}`}`,
      section: 1,
      operation: `append ${count(size)} events, one call per event`,
      n: size,
      expect: size,
      contenders,
    }
  }

  const batched = (size: number, withEmmett: boolean, withLogux: boolean): Group => {
    const myBatches = size === n ? batches : chunks(events.slice(0, size), PAGE)
    const contenders: Group['contenders'][number][] = [
      {
        name: 'sync-kit',
        kind: 'sync-kit',
        before: fresh.syncKit,
        after: fresh.syncKit,
        run: async () => {
          for (const batch of myBatches) await store.storeBatch(batch)
          return store.size
        },
      },
      {
        name: 'array + Map',
        kind: 'baseline',
        definition: APPEND,
        sync: true,
        before: fresh.array,
        after: fresh.array,
        run: () => appendAll(log, myBatches),
      },
    ]
    const { emmett, logux } = peers
    if (withEmmett) {
      if (isLoaded(emmett)) {
        let es: EmmettEventStore = emmett.module.getInMemoryEventStore()
        // Converted before each sample and dropped after it, like every contender's state: no
        // group keeps more live objects than another between samples.
        let input: EmmettEvent[][] = []
        contenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'appendToStream(doc, batch)',
          before: () => {
            es = emmett.module.getInMemoryEventStore()
            input = myBatches.map((batch) => batch.map(emmettEvent))
          },
          after: () => {
            es = emmett.module.getInMemoryEventStore()
            input = []
          },
          run: async () => {
            let length = 0n
            for (const batch of input)
              length = (await es.appendToStream('doc', batch)).nextExpectedStreamVersion
            return Number(length)
          },
        })
      } else contenders.push(skipped(emmett.name, 'peer', emmett.reason))
    }
    if (withLogux) {
      if (isLoaded(logux)) {
        let ls = new logux.module.MemoryStore()
        let input: ReturnType<typeof loguxEntry>[][] = []
        contenders.push({
          name: logux.name,
          kind: 'peer',
          note: 'MemoryStore.add(batch)',
          before: () => {
            ls = new logux.module.MemoryStore()
            input = myBatches.map((batch, b) =>
              batch.map((e, i) => loguxEntry(e, b * PAGE + i, false)),
            )
          },
          after: () => {
            ls = new logux.module.MemoryStore()
            input = []
          },
          run: async () => {
            let added = 0
            for (const batch of input) {
              for (const meta of await ls.add(batch)) if (meta !== false) added++
            }
            return added
          },
        })
      } else contenders.push(skipped(logux.name, 'peer', logux.reason))
    } else if (isLoaded(logux)) {
      contenders.push(
        skipped(
          logux.name,
          'peer',
          `MemoryStore.add scans the whole log per entry (O(n²)); measured on ${count(cap)} events below`,
        ),
      )
    }
    return {
      id: `memory.append.batch${size === n ? '' : `.${size}`}`,
      section: 1,
      operation: `append ${count(size)} events in batches of ${count(PAGE)}`,
      n: size,
      expect: size,
      contenders,
    }
  }

  const groups = [single(Math.min(n, cap), true), batched(n, true, false)]
  if (cap < n) {
    groups.push(batched(cap, false, true))
  }
  // One-call-per-event appends of the whole trace without the quadratic peers.
  if (cap < n) {
    const whole = single(n, false)
    groups.splice(1, 0, {
      ...whole,
      contenders: [
        ...whole.contenders,
        skipped(
          isLoaded(peers.emmett) ? peers.emmett.name : 'emmett',
          'peer',
          `appendToStream copies the whole stream on every call (O(n²) for one event per call); measured on ${count(cap)} events above`,
        ),
        skipped(
          isLoaded(peers.logux) ? peers.logux.name : 'logux',
          'peer',
          `MemoryStore.add scans the whole log per entry (O(n²)); measured on ${count(cap)} events above`,
        ),
      ],
    })
  }
  return groups
}

async function loadGroups(
  events: readonly TxnEvent[],
  peers: Peers,
  cap: number,
): Promise<Group[]> {
  const n = events.length
  const store = await filledMemoryStore(events)
  const log: ArrayLog = { events: [], byId: new Map() }
  for (const event of events) arrayAppend(log, event)
  const { emmett, logux } = peers
  const es = isLoaded(emmett) ? await filledEmmett(emmett.module, events) : undefined
  const small = events.slice(0, cap)
  const ls = isLoaded(logux) ? await filledLogux(logux.module, small, false) : undefined
  const smallStore = await filledMemoryStore(small)

  const all = (size: number): Group => {
    const s = size === n ? store : smallStore
    const contenders: Group['contenders'][number][] = [
      { name: 'sync-kit', kind: 'sync-kit', run: () => loadAllPages(s) },
      {
        name: 'array + Map',
        kind: 'baseline',
        definition: 'load pages: array slice',
        sync: true,
        run: () => {
          let total = 0
          for (let i = 0; i < size; i += PAGE) {
            total += log.events.slice(i, Math.min(size, i + PAGE)).length
          }
          return total
        },
      },
    ]
    if (size === n) {
      if (es !== undefined && isLoaded(emmett)) {
        contenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'readStream(doc, { from, to }) per page',
          run: async () => {
            let total = 0
            for (let from = 0; ; from += PAGE) {
              const page = await es.readStream('doc', {
                from: BigInt(from),
                to: BigInt(from + PAGE),
              })
              total += page.events.length
              if (page.events.length < PAGE) return total
            }
          },
        })
      } else if (!isLoaded(emmett)) contenders.push(skipped(emmett.name, 'peer', emmett.reason))
      if (isLoaded(logux)) {
        contenders.push(
          skipped(
            logux.name,
            'peer',
            `filling its MemoryStore is O(n²); measured on ${count(cap)} events below`,
          ),
        )
      } else contenders.push(skipped(logux.name, 'peer', logux.reason))
    } else if (ls !== undefined && isLoaded(logux)) {
      contenders.push({
        name: logux.name,
        kind: 'peer',
        note: 'get() returns the whole log at once: MemoryStore has no paging',
        run: async () => (await ls.get({ order: 'added' })).entries.length,
      })
    }
    return {
      id: `memory.load.all${size === n ? '' : `.${size}`}`,
      section: 1,
      operation: `load all ${count(size)} events in pages of ${count(PAGE)}`,
      n: size,
      expect: size,
      contenders,
    }
  }

  const middle = (size: number): Group => {
    const s = size === n ? store : smallStore
    const mid = Math.floor(size / 2)
    const since = s.parseVersion(String(mid))
    const contenders: Group['contenders'][number][] = [
      {
        name: 'sync-kit',
        kind: 'sync-kit',
        run: async () => (await s.load(since, { limit: PAGE })).length,
      },
      {
        name: 'array + Map',
        kind: 'baseline',
        definition: 'load a page: array slice',
        sync: true,
        run: () => log.events.slice(mid, Math.min(size, mid + PAGE)).length,
      },
    ]
    if (size === n) {
      if (es !== undefined && isLoaded(emmett)) {
        contenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'readStream(doc, { from, to })',
          run: async () =>
            (await es.readStream('doc', { from: BigInt(mid), to: BigInt(mid + PAGE) })).events
              .length,
        })
      } else if (!isLoaded(emmett)) contenders.push(skipped(emmett.name, 'peer', emmett.reason))
    } else if (ls !== undefined && isLoaded(logux)) {
      contenders.push({
        name: logux.name,
        kind: 'peer',
        note: 'get() + slice: MemoryStore has no offset or since query',
        run: async () => (await ls.get({ order: 'added' })).entries.slice(mid, mid + PAGE).length,
      })
    }
    return {
      id: `memory.load.middle${size === n ? '' : `.${size}`}`,
      section: 1,
      operation: `load ${count(PAGE)} events after the middle of ${count(size)}`,
      n: size,
      expect: Math.min(PAGE, size - mid),
      contenders,
    }
  }

  const groups = [all(n), middle(n)]
  if (cap < n) groups.push(all(cap), middle(cap))
  return groups
}

async function aggregateGroups(
  ctx: BenchContext,
  n: number,
  peers: Peers,
  cap: number,
): Promise<Group[]> {
  const build = async (size: number, withEmmett: boolean, withLogux: boolean): Promise<Group> => {
    const events = traceEvents(ctx.trace, {
      count: size,
      aggregates: { layout: 'round-robin', count: AGGREGATES },
    })
    const store = await filledMemoryStore(events)
    const byAggregate = new Map<string, Event[]>()
    for (const event of events) {
      const list = byAggregate.get(event.aggregateId)
      if (list === undefined) byAggregate.set(event.aggregateId, [event])
      else list.push(event)
    }
    // Cycle over the aggregates holding the most events (all the same count), so every call
    // returns the same number of events.
    const perAggregate = Math.ceil(size / AGGREGATES)
    const full = size % AGGREGATES === 0 ? AGGREGATES : size % AGGREGATES
    const ids = Array.from({ length: full }, (_, i) => `doc-${i}`)
    const next = (() => {
      let k = 0
      return (): string => ids[k++ % ids.length] as string
    })()
    const contenders: Group['contenders'][number][] = [
      {
        name: 'sync-kit',
        kind: 'sync-kit',
        run: async () => (await store.loadByAggregate(next(), null)).length,
      },
      {
        name: 'array + Map',
        kind: 'baseline',
        definition: 'aggregate: Map of arrays',
        note: 'Map from aggregate to its array of events',
        sync: true,
        run: () => byAggregate.get(next())?.length ?? 0,
      },
    ]
    const { emmett, logux } = peers
    if (withEmmett) {
      if (isLoaded(emmett)) {
        const sorted = [...events].sort((a, b) => (a.aggregateId < b.aggregateId ? -1 : 1))
        const es = await filledEmmett(emmett.module, sorted)
        contenders.push({
          name: emmett.name,
          kind: 'peer',
          note: 'readStream(aggregate): one stream per aggregate',
          run: async () => (await es.readStream(next())).events.length,
        })
      } else contenders.push(skipped(emmett.name, 'peer', emmett.reason))
    }
    if (withLogux) {
      if (isLoaded(logux)) {
        const ls = await filledLogux(logux.module, events, true)
        contenders.push({
          name: logux.name,
          kind: 'peer',
          note: 'get({ index: aggregate }), meta.indexes = [aggregate]',
          run: async () => (await ls.get({ index: next() })).entries.length,
        })
      } else contenders.push(skipped(logux.name, 'peer', logux.reason))
    } else if (isLoaded(logux)) {
      contenders.push(
        skipped(
          logux.name,
          'peer',
          `filling its MemoryStore is O(n²); measured on ${count(cap)} events below`,
        ),
      )
    }
    return {
      id: `memory.aggregate${size === n ? '' : `.${size}`}`,
      section: 1,
      operation: `load one aggregate's ${count(perAggregate)} events (log of ${count(size)} events, ${count(AGGREGATES)} aggregates)`,
      n: size,
      expect: perAggregate,
      contenders,
    }
  }
  const groups = [await build(n, true, cap >= n)]
  if (cap < n) groups.push(await build(cap, false, true))
  return groups
}

/**
 * Runs section 1.
 * @param ctx - the run's context.
 * @returns one result per measured operation.
 * @example
 * ```ts
 * import { runMemorySection } from './sections/memory-store.js'
 *
 * const results = await runMemorySection(ctx)
 * ```
 */
export async function runMemorySection(ctx: BenchContext): Promise<GroupResult[]> {
  const { plan } = ctx
  const peers: Peers = { logux: await loadLogux(), emmett: await loadEmmett() }
  const events = traceEvents(ctx.trace, { count: plan.traceEvents })
  const cap = Math.min(plan.quadraticCap, events.length)
  const results: GroupResult[] = []
  const run = async (group: Group, micro: boolean): Promise<void> => {
    ctx.log(`[bench] 1 memory: ${group.operation}`)
    results.push(await measureGroup(group, micro ? plan.micro : plan.macro))
  }
  for (const group of appendGroups(events, peers, cap)) await run(group, false)
  for (const group of await loadGroups(events, peers, cap)) {
    await run(group, group.id.startsWith('memory.load.middle'))
  }
  for (const group of await aggregateGroups(ctx, events.length, peers, cap)) await run(group, true)
  return results
}
