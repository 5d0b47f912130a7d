/**
 * Where the time goes: runs one benchmark scenario under the V8 CPU profiler (the same profiler as
 * `node --cpu-prof`, driven through `node:inspector`) and prints the functions with the most self
 * time, grouped by source file. docs/benchmarks.md quotes its output for every missed target.
 *
 * Usage: `node --expose-gc --import tsx bench/profile.ts <scenario> [--events N] [--save file]`,
 * scenarios: `memory-append`, `memory-load-middle`, `memory-aggregate`, `sqlite-append`,
 * `sqlite-load`, `loopback-sync`, `http-sync`, `http-push`. `--save` also writes the raw `.cpuprofile` (open it
 * in Chrome DevTools or speedscope).
 *
 * @module
 */
import { writeFile } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import {
  SyncManager,
  createLoopbackHub,
  createMemoryStore,
  type Event,
  type MemoryStore,
} from '../src/index.js'
import { createHttpTransport, createSyncHandler } from '../src/transports/http/index.js'
import { serve } from '../src/transports/http/node.js'
import { type BenchContext, QUICK_PLAN } from './context.js'
import { AGGREGATES } from './sections/memory-store.js'
import { freshDbPath, openSyncKitSqlite } from './sections/sqlite-store.js'
import { chunks, loadBenchTrace, traceEvents } from './trace-events.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** One node of a V8 CPU profile. */
interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
  }
  readonly children?: readonly number[]
}

/** A V8 CPU profile (`Profiler.stop`). */
interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

/** Self time per function and per file, from a CPU profile. */
export interface ProfileSummary {
  /** Total sampled time, ms. */
  readonly totalMs: number
  /** Functions by self time, largest first. */
  readonly functions: readonly { readonly name: string; readonly ms: number }[]
  /** Files (or `(native)`, `(garbage collector)`, …) by self time, largest first. */
  readonly files: readonly { readonly file: string; readonly ms: number }[]
}

function shortFile(url: string): string {
  if (url === '') return '(native)'
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  if (path.startsWith(ROOT)) return path.slice(ROOT.length)
  return path.replace(/^node:/, 'node:')
}

/**
 * Sums self time per function and per file.
 * @param profile - a V8 CPU profile.
 * @returns the totals, largest first.
 * @example
 * ```ts
 * import { summarizeProfile } from './profile.js'
 *
 * const summary = summarizeProfile(profile)
 * ```
 */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  })
  const functions = new Map<string, number>()
  const files = new Map<string, number>()
  let totalMs = 0
  for (const [id, ms] of self) {
    const frame = byId.get(id)?.callFrame
    if (frame === undefined) continue
    totalMs += ms
    const file = frame.functionName.startsWith('(') ? frame.functionName : shortFile(frame.url)
    // No line numbers: tsx's transpiled line numbers do not match the sources.
    const name = `${frame.functionName || '(anonymous)'}  ${file}`
    functions.set(name, (functions.get(name) ?? 0) + ms)
    files.set(file, (files.get(file) ?? 0) + ms)
  }
  const sorted = <K extends string>(map: Map<string, number>, key: K) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, ms]) => ({ [key]: k, ms }) as Record<K, string> & { ms: number })
  return {
    totalMs,
    functions: sorted(functions, 'name').slice(0, 25),
    files: sorted(files, 'file').slice(0, 15),
  }
}

type Scenario = (
  ctx: BenchContext,
  n: number,
) => Promise<{ prepare?: () => Promise<void>; run: () => Promise<void> }>

/** A sync server on a fresh SQLite file, as section 3 runs it. */
async function startServer(
  ctx: BenchContext,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await serve({
    handler: createSyncHandler({ store: openSyncKitSqlite(freshDbPath(ctx, 'server')) }),
    port: 0,
  })
  return { url: server.url, close: () => server.close() }
}

async function filled(events: readonly Event[]): Promise<MemoryStore> {
  const store = createMemoryStore()
  for (const batch of chunks(events, 1_000)) await store.storeBatch(batch)
  return store
}

const SCENARIOS: Record<string, Scenario> = {
  'memory-append': async (ctx, n) => {
    const batches = chunks(traceEvents(ctx.trace, { count: n }), 1_000)
    return {
      run: async () => {
        for (let r = 0; r < 3; r++) {
          const store = createMemoryStore()
          for (const batch of batches) await store.storeBatch(batch)
        }
      },
    }
  },
  'memory-load-middle': async (ctx, n) => {
    const store = await filled(traceEvents(ctx.trace, { count: n }))
    const since = store.parseVersion(String(Math.floor(n / 2)))
    return {
      run: async () => {
        for (let i = 0; i < 5_000; i++) await store.load(since, { limit: 1_000 })
      },
    }
  },
  'memory-aggregate': async (ctx, n) => {
    const store = await filled(
      traceEvents(ctx.trace, {
        count: n,
        aggregates: { layout: 'round-robin', count: AGGREGATES },
      }),
    )
    return {
      run: async () => {
        for (let i = 0; i < 100_000; i++) await store.loadByAggregate(`doc-${i % AGGREGATES}`, null)
      },
    }
  },
  'sqlite-append': async (ctx, n) => {
    const batches = chunks(traceEvents(ctx.trace, { count: n }), 1_000)
    return {
      run: async () => {
        const store = openSyncKitSqlite(freshDbPath(ctx, 'profile'))
        for (const batch of batches) await store.storeBatch(batch)
        await store.close()
        store.database.close()
      },
    }
  },
  'sqlite-load': async (ctx, n) => {
    const store = openSyncKitSqlite(freshDbPath(ctx, 'profile'))
    for (const batch of chunks(traceEvents(ctx.trace, { count: n }), 1_000)) {
      await store.storeBatch(batch)
    }
    return {
      run: async () => {
        for (let r = 0; r < 3; r++) {
          let since = null
          for (;;) {
            const page = await store.load(since, { limit: 1_000 })
            const last = page.at(-1)
            if (last === undefined) break
            since = last.version
          }
        }
      },
    }
  },
  'loopback-sync': async (ctx, n) => {
    const events = traceEvents(ctx.trace, { count: n })
    let a: SyncManager | undefined
    let b: SyncManager | undefined
    return {
      prepare: async () => {
        const hub = createLoopbackHub()
        a = new SyncManager({
          store: createMemoryStore(),
          transport: hub.connect('a'),
          nodeId: 'a',
        })
        b = new SyncManager({
          store: createMemoryStore(),
          transport: hub.connect('b'),
          nodeId: 'b',
        })
        for (const e of events)
          await a.record({ type: e.type, aggregateId: e.aggregateId, data: e.data })
      },
      run: async () => {
        await a?.sync({ only: 'push' })
        await b?.sync({ only: 'pull' })
      },
    }
  },
  'http-sync': async (ctx, n) => {
    const events = traceEvents(ctx.trace, { count: n })
    let a: SyncManager | undefined
    let b: SyncManager | undefined
    let close: (() => Promise<void>) | undefined
    return {
      prepare: async () => {
        const server = await startServer(ctx)
        close = server.close
        const storeA = openSyncKitSqlite(freshDbPath(ctx, 'a'))
        a = new SyncManager({
          store: storeA,
          transport: createHttpTransport({ url: server.url }),
          nodeId: 'a',
        })
        b = new SyncManager({
          store: openSyncKitSqlite(freshDbPath(ctx, 'b')),
          transport: createHttpTransport({ url: server.url }),
          nodeId: 'b',
        })
        for (const e of events)
          await a.record({ type: e.type, aggregateId: e.aggregateId, data: e.data })
        await b.sync({ only: 'pull' })
      },
      run: async () => {
        await a?.sync({ only: 'push' })
        await b?.sync({ only: 'pull' })
        await close?.()
      },
    }
  },
  'http-push': async (ctx, n) => {
    // One client pushing pages of 500 into one server on SQLite (section 3's HTTP push, 1 client).
    const pages = chunks(traceEvents(ctx.trace, { count: n }), 500)
    let url = ''
    let close: (() => Promise<void>) | undefined
    return {
      prepare: async () => {
        ;({ url, close } = await startServer(ctx))
      },
      run: async () => {
        const gzip =
          process.env['SYNC_KIT_PROFILE_GZIP'] === '0' ? { gzipThresholdBytes: Infinity } : {}
        const transport = createHttpTransport({ url, ...gzip })
        for (const page of pages) await transport.push(page)
        await transport.close()
        await close?.()
      },
    }
  },
}

async function main(argv: readonly string[]): Promise<void> {
  const [name, ...rest] = argv
  const scenario = name === undefined ? undefined : SCENARIOS[name]
  if (scenario === undefined) {
    throw new Error(
      `[sync-kit] [bench] usage: bench/profile.ts <${Object.keys(SCENARIOS).join('|')}> [--events N] [--save file]`,
    )
  }
  let n = 259_778
  let save: string | undefined
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--events') n = Number(rest[++i])
    else if (rest[i] === '--save') save = rest[++i]
  }
  const tmpDir = await mkdtemp(join(tmpdir(), 'sync-kit-profile-'))
  const ctx: BenchContext = {
    plan: QUICK_PLAN,
    trace: await loadBenchTrace(),
    tmpDir,
    log: (line) => process.stderr.write(`${line}\n`),
  }
  try {
    const { prepare, run } = await scenario(ctx, n)
    await prepare?.()
    const session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 200 })
    await session.post('Profiler.start')
    const started = performance.now()
    await run()
    const wall = performance.now() - started
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile }
    session.disconnect()
    if (save !== undefined) await writeFile(save, JSON.stringify(profile))
    const summary = summarizeProfile(profile)
    const pct = (ms: number): string => `${((ms / summary.totalMs) * 100).toFixed(1).padStart(5)}%`
    process.stdout.write(
      `${name}: ${n} events, ${wall.toFixed(0)} ms wall, ${summary.totalMs.toFixed(0)} ms sampled\n\nself time by file:\n` +
        summary.files.map((f) => `  ${pct(f.ms)}  ${f.file}`).join('\n') +
        '\n\nself time by function:\n' +
        summary.functions.map((f) => `  ${pct(f.ms)}  ${f.name}`).join('\n') +
        '\n',
    )
  } finally {
    await rm(tmpDir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  })
}
