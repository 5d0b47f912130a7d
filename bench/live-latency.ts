/**
 * Live-mode delivery latency through a real `sync-kit serve` process (issue 3 §3): how long from
 * one replica pushing an event until a live replica has stored it, with no polling — over HTTP +
 * Server-Sent Events and over WebSocket (`sync-kit/ws`, issue 13), against the same server in the
 * same run.
 *
 * Two measurements, each over `--iterations` events after `--warmup` unmeasured ones:
 * - `manager`: replica A `record`s an event and `sync`s (push); replica B, a `SyncManager` with
 *   `features: [liveMode()]` and a one-hour poll interval, is woken by the server's event stream and pulls
 *   the event into its store. Timed from before A's `record` to B's `sync` event reporting the
 *   pull, and from A's push being acknowledged to the same moment.
 * - `stream`: a bare `transport.push` until a `transport.subscribe` handler receives the event
 *   (the stream alone, no pull).
 *
 * Run: `node --import tsx bench/live-latency.ts [--iterations N] [--warmup N] [--db PATH|URL]
 * [--instances 2]`. Prints one JSON line on stdout (milliseconds: p50, p95, p99, max, mean; the
 * HTTP + SSE numbers at the top level as before, the WebSocket ones under `ws`) and a summary on
 * stderr. The server runs from the source through tsx on a SQLite file (`synchronous: full`, the
 * default) in a temporary directory unless `--db` names one (`:memory:` for memory, or a
 * `postgres://` database). With `--instances 2` (PostgreSQL only) two servers run on that
 * database: A pushes to the first, B and the stream listen on the second, so every delivery
 * crosses instances (LISTEN/NOTIFY, then a read of the table).
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { startSyncServer } from '../examples/http-mode.js'
import { SyncManager, createMemoryStore, liveMode } from '../src/index.js'
import { WebSocket } from 'ws'

import type { Transport } from '../src/index.js'
import { createHttpTransport } from '../src/transports/http/index.js'
import { createWebSocketTransport } from '../src/transports/ws/index.js'

/** Latency percentiles of one measurement, in milliseconds. */
interface LatencySummary {
  /** Number of samples. */
  readonly n: number
  /** Median. */
  readonly p50: number
  /** 95th percentile. */
  readonly p95: number
  /** 99th percentile. */
  readonly p99: number
  /** Largest sample. */
  readonly max: number
  /** Arithmetic mean. */
  readonly mean: number
}

/** Summarises samples with nearest-rank percentiles, rounded to 0.01 ms. */
function summarizeLatency(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN
  const round = (ms: number): number => Math.round(ms * 100) / 100
  const mean = sorted.reduce((sum, ms) => sum + ms, 0) / Math.max(1, sorted.length)
  return {
    n: sorted.length,
    p50: round(rank(0.5)),
    p95: round(rank(0.95)),
    p99: round(rank(0.99)),
    max: round(sorted.at(-1) ?? NaN),
    mean: round(mean),
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '200' },
      warmup: { type: 'string', default: '20' },
      db: { type: 'string' },
      instances: { type: 'string', default: '1' },
    },
    strict: true,
  })
  const instances = Number(values.instances)
  if (instances !== 1 && !(instances === 2 && /^postgres(ql)?:\/\//.test(values.db ?? ''))) {
    throw new Error('--instances 2 needs a PostgreSQL --db (postgres://…); otherwise use 1')
  }
  const iterations = Number(values.iterations)
  const warmup = Number(values.warmup)
  if (!Number.isSafeInteger(iterations) || iterations < 1 || !Number.isSafeInteger(warmup)) {
    throw new Error('--iterations must be a positive integer and --warmup a non-negative one')
  }
  const dir = values.db === undefined ? await mkdtemp(join(tmpdir(), 'sync-kit-live-')) : undefined
  const db = values.db ?? join(dir as string, 'server.db')

  let streamOpens = 0
  let onStreamOpen: (() => void) | undefined
  const servers = await Promise.all(
    Array.from({ length: instances }, () =>
      startSyncServer({
        db,
        onLog: (record) => {
          const sseOpen = record['path'] === '/v1/stream' && record['stream'] === 'open'
          if (sseOpen || record['method'] === 'WS-SUBSCRIBE') {
            streamOpens++
            onStreamOpen?.()
          }
          if (record['level'] !== 'info')
            process.stderr.write(`[sync-server] ${JSON.stringify(record)}\n`)
        },
      }),
    ),
  )
  const streamOpened = async (count: number): Promise<void> => {
    while (streamOpens < count) await new Promise<void>((resolve) => (onStreamOpen = resolve))
  }
  // A writes to the first instance; B and the stream read from the last.
  const writerUrl = (servers[0] as (typeof servers)[number]).url
  const readerUrl = (servers.at(-1) as (typeof servers)[number]).url
  const makeTransport: Record<LiveTransport, (url: string) => LiveTransportInstance> = {
    'http+sse': (url) => createHttpTransport({ url }),
    ws: (url) => createWebSocketTransport({ url: url.replace(/^http/, 'ws'), WebSocket }),
  }
  const results: Partial<Record<LiveTransport, LiveRun>> = {}
  try {
    // Both wires against the same server process in the same run, HTTP + SSE first.
    for (const kind of LIVE_TRANSPORTS) {
      const make = makeTransport[kind]
      results[kind] = await measure(
        () => make(writerUrl),
        () => make(readerUrl),
        warmup,
        iterations,
        () => streamOpened(streamOpens + 1),
      )
    }
  } finally {
    for (const server of servers) await server.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  }
  const result = {
    benchmark: 'live-latency',
    server: `${instances} × sync-kit serve (child process, tsx)`,
    db:
      values.db === undefined
        ? 'sqlite file, synchronous=full'
        : values.db.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'),
    iterations,
    warmup,
    node: process.version,
    ...results['http+sse'],
    ws: results.ws,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
  const line = (name: string, s: LatencySummary): string =>
    `${name.padEnd(40)} p50 ${s.p50} ms, p95 ${s.p95} ms, p99 ${s.p99} ms, max ${s.max} ms`
  const lines: string[] = []
  for (const kind of LIVE_TRANSPORTS) {
    const run = results[kind]
    if (run === undefined) continue
    lines.push(
      line(`[${kind}] record+push on A → stored on B`, run.managerFromRecordMs),
      line(`[${kind}] push acknowledged → stored on B`, run.managerFromPushAckMs),
      line(`[${kind}] push → stream handler`, run.streamFromPushMs),
    )
  }
  process.stderr.write(lines.join('\n') + '\n')
}

/** The wires measured, each against the same server in the same run. */
type LiveTransport = 'http+sse' | 'ws'
const LIVE_TRANSPORTS: readonly LiveTransport[] = ['http+sse', 'ws']

/** A transport of one wire, with its live subscription. */
type LiveTransportInstance = Transport & Required<Pick<Transport, 'subscribe'>>

/** The three measurements of one wire. */
interface LiveRun {
  readonly managerFromRecordMs: LatencySummary
  readonly managerFromPushAckMs: LatencySummary
  readonly streamFromPushMs: LatencySummary
}

/**
 * Measures one wire: replica A records and pushes, live replica B stores; then a bare push until a
 * subscribe handler receives it.
 * @param toWriter - creates a transport of the wire to the instance A writes to.
 * @param toReader - creates one to the instance B and the stream read from (the same with one).
 * @param warmup - unmeasured events first.
 * @param iterations - measured events.
 * @param nextStreamOpen - resolves once the server logged one more live subscription.
 * @returns the latency summaries.
 */
async function measure(
  toWriter: () => LiveTransportInstance,
  toReader: () => LiveTransportInstance,
  warmup: number,
  iterations: number,
  nextStreamOpen: () => Promise<void>,
): Promise<LiveRun> {
  const transports = [toWriter(), toReader(), toReader()] as const
  const [transportA, transportB, transportC] = transports
  const a = new SyncManager({ store: createMemoryStore(), transport: transportA, nodeId: 'a' })
  const b = new SyncManager({
    store: createMemoryStore(),
    transport: transportB,
    nodeId: 'b',
    features: [liveMode()],
    intervalMs: 3_600_000,
  })
  try {
    // --- manager: record + push on A → B's live-triggered pull has stored it
    let pulled: (() => void) | undefined
    b.on('sync', (result) => {
      if (result.pulled > 0) pulled?.()
    })
    b.on('error', (error) => process.stderr.write(`[b] ${String(error)}\n`))
    const bOpened = nextStreamOpen()
    b.start()
    await bOpened
    const fromRecord: number[] = []
    const fromAck: number[] = []
    for (let i = 0; i < warmup + iterations; i++) {
      const arrived = new Promise<number>((resolve) => (pulled = () => resolve(performance.now())))
      const t0 = performance.now()
      await a.record({ type: 'Ping', aggregateId: 'latency', data: { i } })
      const { pushed } = await a.sync()
      const acked = performance.now()
      if (pushed !== 1) throw new Error(`expected one pushed event, got ${pushed}`)
      const t1 = await arrived
      if (i >= warmup) {
        fromRecord.push(t1 - t0)
        fromAck.push(t1 - acked)
      }
    }

    // --- stream: bare push → subscribe handler
    let received: ((id: string) => void) | undefined
    const cOpened = nextStreamOpen()
    const subscription = await transportC.subscribe((batch) => {
      for (const item of batch) received?.(item.event.id)
    })
    await cOpened
    const stream: number[] = []
    const prefix = `stream-${Math.random().toString(36).slice(2)}`
    for (let i = 0; i < warmup + iterations; i++) {
      const id = `${prefix}-${i}`
      const arrived = new Promise<number>((resolve) => {
        received = (got) => {
          if (got === id) resolve(performance.now())
        }
      })
      const t0 = performance.now()
      await transportA.push([{ id, type: 'Ping', aggregateId: 'stream', data: { i } }])
      const t1 = await arrived
      if (i >= warmup) stream.push(t1 - t0)
    }
    await subscription.unsubscribe()
    return {
      managerFromRecordMs: summarizeLatency(fromRecord),
      managerFromPushAckMs: summarizeLatency(fromAck),
      streamFromPushMs: summarizeLatency(stream),
    }
  } finally {
    await b.close()
    await a.close()
    for (const transport of transports) await transport.close()
  }
}

await main()
