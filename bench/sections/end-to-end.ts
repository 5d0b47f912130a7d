/**
 * Section 3: end-to-end sync of the automerge-paper events from replica A to replica B.
 *
 * - Loopback: two `SyncManager`s on memory stores and a loopback hub (A pushes to the hub, B
 *   pulls from it), against two hops of logux (`ClientNode` A → `ServerNode` → `ClientNode` C over
 *   `LocalPair`s, one server log), with the same actions.
 * - HTTP on 127.0.0.1: `SyncManager`s on SQLite stores, `createHttpTransport` and
 *   `createSyncHandler` served by `serve` (node:http) on a SQLite store, against a baseline
 *   pipeline that does only the unavoidable work over the same HTTP stack (node:http server,
 *   `fetch` client): read a page of 500 events from A's database, `JSON.stringify`, POST, parse,
 *   insert with a prepared statement in one transaction; then B GETs pages of 500 the same way.
 *
 * Replica A's events are recorded once through a `SyncManager` (so they carry the HLC, origin and
 * causal metadata real events have); every sample starts from a copy of that log and empty B and
 * server logs. Managers are initialised (their one-time scan of the local log) before the clock
 * starts.
 *
 * @module
 */
import { copyFileSync } from 'node:fs'
import { type IncomingMessage, type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

import {
  type Event,
  type LoopbackHub,
  type MemoryStore,
  SyncManager,
  createLoopbackHub,
  createMemoryStore,
} from '../../src/index.js'
import { type SqliteStore } from '../../src/stores/sqlite/index.js'
import { createHttpTransport } from '../../src/transports/http/index.js'
import { type RunningServer, serve } from '../../src/transports/http/node.js'
import { createSyncHandler } from '../../src/transports/http/index.js'
import { type BenchContext, count, skipped } from '../context.js'
import { type Group, type GroupResult, measureGroup } from '../harness.js'
import {
  type LoadedPeer,
  type LoguxEntry,
  type LoguxModule,
  type LoguxNode,
  isLoaded,
  loadLogux,
  loguxEntry,
} from '../peers.js'
import { chunks, traceEvents } from '../trace-events.js'
import {
  type RawSqliteLog,
  freshDbPath,
  openRawLog,
  openSyncKitSqlite,
  removeDb,
} from './sqlite-store.js'

/** Events per push and per pulled page, on both sides (sync-kit's `DEFAULT_BATCH_SIZE`). */
export const E2E_PAGE = 500

/**
 * Records `n` trace events through a `SyncManager` and returns them as stored (with metadata).
 * @param ctx - the run's context.
 * @param n - how many.
 * @returns the recorded events, oldest first.
 */
async function recordEvents(ctx: BenchContext, n: number): Promise<Event[]> {
  const store = createMemoryStore()
  const hub = createLoopbackHub()
  const manager = new SyncManager({ store, transport: hub.connect('a'), nodeId: 'a' })
  let i = 0
  for (const event of traceEvents(ctx.trace, { count: n })) {
    await manager.record({
      id: `a-${i++}`,
      type: event.type,
      aggregateId: event.aggregateId,
      data: event.data,
    })
  }
  const recorded = (await store.load(null)).map((e) => e.event)
  await manager.close()
  await hub.close()
  return recorded
}

async function filledMemory(events: readonly Event[]): Promise<MemoryStore> {
  const store = createMemoryStore()
  for (const batch of chunks(events, 1_000)) await store.storeBatch(batch)
  return store
}

/** A log as the bare pipeline keeps it: the events in order and their ids. */
interface BareLog {
  readonly events: Event[]
  readonly ids: Set<string>
}

/** Appends the events the log lacks (by id): what an idempotent store must do at least. */
function dedupeAppend(log: BareLog, events: readonly Event[]): void {
  for (const event of events) {
    if (log.ids.has(event.id)) continue
    log.ids.add(event.id)
    log.events.push(event)
  }
}

/**
 * The bare pipeline of an in-memory sync, the least work it needs: A's events in pages, each page
 * copied once on its way to the hub (a JSON round trip: the one copy at a boundary), deduplicated
 * by id and appended to the hub's log; then B reads the hub's log in pages and deduplicates them
 * into its own. The one definition of the loopback anchor: every loopback group runs this.
 */
function barePipeline(events: readonly Event[]): number {
  const hub: BareLog = { events: [], ids: new Set() }
  const b: BareLog = { events: [], ids: new Set() }
  for (const page of chunks(events, E2E_PAGE)) {
    dedupeAppend(hub, JSON.parse(JSON.stringify(page)) as Event[])
  }
  for (let i = 0; i < hub.events.length; i += E2E_PAGE) {
    dedupeAppend(b, hub.events.slice(i, i + E2E_PAGE))
  }
  return b.events.length
}

function loopbackGroup(
  id: string,
  events: readonly Event[],
  logux: LoadedPeer<LoguxModule> | { name: string; reason: string } | undefined,
  capNote: string | undefined,
): Group {
  const n = events.length
  let hub: LoopbackHub | undefined
  let a: SyncManager | undefined
  let b: SyncManager | undefined
  let storeB: MemoryStore | undefined
  const contenders: Group['contenders'][number][] = [
    {
      name: 'sync-kit',
      kind: 'sync-kit',
      note: 'SyncManager A push → loopback hub → SyncManager B pull, memory stores',
      before: async () => {
        hub = createLoopbackHub()
        a = new SyncManager({
          store: await filledMemory(events),
          transport: hub.connect('a'),
          nodeId: 'a',
        })
        storeB = createMemoryStore()
        b = new SyncManager({ store: storeB, transport: hub.connect('b'), nodeId: 'b' })
        // Initialise both managers (the one-time scan of the local log) before the clock starts.
        await a.sync({ only: 'pull' })
        await b.sync({ only: 'pull' })
      },
      run: async () => {
        await (a as SyncManager).sync({ only: 'push' })
        await (b as SyncManager).sync({ only: 'pull' })
        return (storeB as MemoryStore).size
      },
      after: async () => {
        await a?.close()
        await b?.close()
        await hub?.close()
      },
    },
    {
      name: 'JSON round trip + Map dedupe + array',
      kind: 'baseline',
      definition: 'in-memory sync: bare pipeline',
      note: 'pages of 500: one JSON round trip into the hub, dedupe by id, append; B reads pages and dedupes',
      sync: true,
      run: () => barePipeline(events),
    },
  ]
  if (logux !== undefined) {
    if (isLoaded(logux)) {
      const L = logux.module
      let nodes: LoguxNode[] = []
      let clientA: LoguxNode | undefined
      let clientC: LoguxNode | undefined
      let countC: () => Promise<number> = () => Promise.resolve(0)
      contenders.push({
        name: logux.name,
        kind: 'peer',
        note: 'ClientNode A → ServerNode → ClientNode C over LocalPair(0), MemoryStore logs',
        before: async () => {
          const logA = new L.Log({ nodeId: 'a', store: new L.MemoryStore() })
          const entries: LoguxEntry[] = events.map((e, i) => loguxEntry(e, i, false))
          for (const [, meta] of entries) meta.id = `${meta.time} a 0`
          await logA.add(entries)
          const serverLog = new L.Log({ nodeId: 'server', store: new L.MemoryStore() })
          const logC = new L.Log({ nodeId: 'c', store: new L.MemoryStore() })
          const pairA = new L.LocalPair(0)
          const pairC = new L.LocalPair(0)
          clientA = new L.ClientNode('a', logA, pairA.left)
          clientC = new L.ClientNode('c', logC, pairC.left)
          nodes = [
            clientA,
            clientC,
            new L.ServerNode('server', serverLog, pairA.right),
            new L.ServerNode('server', serverLog, pairC.right),
          ]
          countC = async () => (await logC.store.get({})).entries.length
        },
        run: async () => {
          const A = clientA as LoguxNode
          const C = clientC as LoguxNode
          await A.connection.connect()
          await A.waitFor('synchronized')
          await C.connection.connect()
          await C.waitFor('synchronized')
          return countC()
        },
        after: () => {
          for (const node of nodes) node.destroy()
          nodes = []
        },
      })
    } else contenders.push(skipped(logux.name, 'peer', logux.reason))
  }
  if (capNote !== undefined) contenders.push(skipped('logux', 'peer', capNote))
  return {
    id,
    section: 3,
    operation: `sync ${count(n)} events A → B, in memory (loopback hub / LocalPair)`,
    n,
    expect: n,
    contenders,
  }
}

// ---- HTTP ---------------------------------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = []
  for await (const chunk of req) parts.push(chunk as Buffer)
  return Buffer.concat(parts).toString('utf8')
}

/** The baseline server: POST /push inserts a batch, GET /pull?since&limit returns a page. */
async function startBaselineServer(log: RawSqliteLog): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const handle = async (): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      if (req.method === 'POST' && url.pathname === '/push') {
        const events = JSON.parse(await readBody(req)) as Event[]
        log.insertBatch(events)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ stored: events.length }))
      } else if (req.method === 'GET' && url.pathname === '/pull') {
        const page = log.page(
          Number(url.searchParams.get('since')),
          Number(url.searchParams.get('limit')),
        )
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ events: page }))
      } else {
        res.writeHead(404).end()
      }
    }
    handle().catch((error: unknown) => {
      res.writeHead(500).end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

async function baselinePipeline(a: RawSqliteLog, b: RawSqliteLog, url: string): Promise<number> {
  // Push: read A page by page, serialise, POST.
  let seq = 0
  for (;;) {
    const page = a.page(seq, E2E_PAGE)
    if (page.length === 0) break
    const response = await fetch(`${url}/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(page.map((p) => p.event)),
    })
    if (!response.ok) throw new Error(`baseline push failed: ${response.status}`)
    await response.json()
    seq = (page.at(-1) as { seq: number }).seq
    if (page.length < E2E_PAGE) break
  }
  // Pull: GET pages, parse, insert into B.
  let since = 0
  let total = 0
  for (;;) {
    const response = await fetch(`${url}/pull?since=${since}&limit=${E2E_PAGE}`)
    if (!response.ok) throw new Error(`baseline pull failed: ${response.status}`)
    const { events } = (await response.json()) as { events: { seq: number; event: Event }[] }
    if (events.length > 0) b.insertBatch(events.map((e) => e.event))
    total += events.length
    if (events.length < E2E_PAGE) return total
    since = (events.at(-1) as { seq: number }).seq
  }
}

async function httpGroup(
  ctx: BenchContext,
  events: readonly Event[],
): Promise<Group & { cleanup: () => void }> {
  const n = events.length
  // Replica A's log, written once and copied for every sample (both sides use sync-kit's schema).
  const templatePath = freshDbPath(ctx, 'http-a-template')
  const template = openSyncKitSqlite(templatePath)
  for (const batch of chunks(events, 1_000)) await template.storeBatch(batch)
  template.database.pragma('wal_checkpoint(TRUNCATE)')
  await template.close()
  template.database.close()
  const copyOfA = (): string => {
    const path = freshDbPath(ctx, 'http-a')
    copyFileSync(templatePath, path)
    return path
  }

  let paths: string[] = []
  let stores: SqliteStore[] = []
  let server: RunningServer | undefined
  let a: SyncManager | undefined
  let b: SyncManager | undefined
  let storeB: SqliteStore | undefined
  let raws: RawSqliteLog[] = []
  let baselineServer: Server | undefined
  let baseline: { a: RawSqliteLog; b: RawSqliteLog; url: string } | undefined
  const release = async (): Promise<void> => {
    await a?.close()
    await b?.close()
    await server?.close()
    for (const store of stores) {
      await store.close()
      store.database.close()
    }
    await new Promise<void>((resolve) =>
      baselineServer ? baselineServer.close(() => resolve()) : resolve(),
    )
    for (const raw of raws) raw.db.close()
    for (const path of paths) removeDb(path)
    a = b = storeB = server = baselineServer = baseline = undefined
    paths = []
    stores = []
    raws = []
  }
  return {
    id: 'e2e.http',
    section: 3,
    operation: `sync ${count(n)} events A → server → B over HTTP on 127.0.0.1, SQLite everywhere`,
    n,
    expect: n,
    contenders: [
      {
        name: 'sync-kit',
        kind: 'sync-kit',
        note: 'SyncManager + createHttpTransport ⇄ serve(createSyncHandler), default options',
        before: async () => {
          const aPath = copyOfA()
          const serverPath = freshDbPath(ctx, 'http-server')
          const bPath = freshDbPath(ctx, 'http-b')
          paths = [aPath, serverPath, bPath]
          const storeA = openSyncKitSqlite(aPath)
          const serverStore = openSyncKitSqlite(serverPath)
          storeB = openSyncKitSqlite(bPath)
          stores = [storeA, serverStore, storeB]
          server = await serve({ handler: createSyncHandler({ store: serverStore }), port: 0 })
          a = new SyncManager({
            store: storeA,
            transport: createHttpTransport({ url: server.url }),
            nodeId: 'a',
          })
          b = new SyncManager({
            store: storeB,
            transport: createHttpTransport({ url: server.url }),
            nodeId: 'b',
          })
          await a.sync({ only: 'pull' })
          await b.sync({ only: 'pull' })
        },
        run: async () => {
          await (a as SyncManager).sync({ only: 'push' })
          await (b as SyncManager).sync({ only: 'pull' })
          return Number((await (storeB as SqliteStore).latestVersion()).value)
        },
        after: release,
      },
      {
        name: 'HTTP + raw better-sqlite3',
        kind: 'baseline',
        note: 'read page, JSON.stringify, fetch POST, JSON.parse, prepared INSERT; then GET pages into B',
        before: async () => {
          const aPath = copyOfA()
          const serverPath = freshDbPath(ctx, 'http-raw-server')
          const bPath = freshDbPath(ctx, 'http-raw-b')
          paths = [aPath, serverPath, bPath]
          const rawA = await openRawLog(aPath)
          const rawServer = await openRawLog(serverPath)
          const rawB = await openRawLog(bPath)
          raws = [rawA, rawServer, rawB]
          const started = await startBaselineServer(rawServer)
          baselineServer = started.server
          baseline = { a: rawA, b: rawB, url: started.url }
        },
        run: () => {
          const base = baseline as { a: RawSqliteLog; b: RawSqliteLog; url: string }
          return baselinePipeline(base.a, base.b, base.url)
        },
        after: release,
      },
    ],
    cleanup: () => removeDb(templatePath),
  }
}

/** Client counts of the HTTP push groups. */
export const PUSH_CLIENTS: readonly number[] = [1, 4, 16]
/** Events pushed in total by the HTTP push groups (split evenly between the clients). */
const PUSH_EVENTS = 16_000

/**
 * HTTP push with `clients` concurrent clients into one server on SQLite: sync-kit's HTTP
 * transport (`push` of pages of 500, each client its own events) into `serve(createSyncHandler)`,
 * against the bare pipeline — `fetch` POST of the page's JSON to a node:http server that parses it
 * and inserts it with a prepared statement in one transaction.
 */
function httpPushGroup(ctx: BenchContext, events: readonly Event[], clients: number): Group {
  const per = Math.floor(Math.min(events.length, PUSH_EVENTS) / clients)
  const slices = Array.from({ length: clients }, (_, i) =>
    chunks(events.slice(i * per, (i + 1) * per), E2E_PAGE),
  )
  const total = per * clients
  let path = ''
  let store: SqliteStore | undefined
  let server: RunningServer | undefined
  let raw: RawSqliteLog | undefined
  let bare: Server | undefined
  let url = ''
  const release = async (): Promise<void> => {
    await server?.close()
    if (store !== undefined) {
      await store.close()
      store.database.close()
    }
    await new Promise<void>((resolve) => (bare ? bare.close(() => resolve()) : resolve()))
    raw?.db.close()
    if (path !== '') removeDb(path)
    store = server = raw = bare = undefined
    path = ''
  }
  return {
    id: `e2e.http.push.${clients}`,
    section: 3,
    operation: `HTTP push of ${count(total)} events by ${clients} concurrent client${clients === 1 ? '' : 's'} into one server on SQLite`,
    n: total,
    expect: total,
    contenders: [
      {
        name: 'sync-kit',
        kind: 'sync-kit',
        note: 'createHttpTransport().push(page of 500) per client ⇄ serve(createSyncHandler), SQLite store',
        before: async () => {
          path = freshDbPath(ctx, 'push-server')
          store = openSyncKitSqlite(path)
          server = await serve({ handler: createSyncHandler({ store }), port: 0 })
        },
        run: async () => {
          const target = (server as RunningServer).url
          await Promise.all(
            slices.map(async (pages) => {
              const transport = createHttpTransport({ url: target })
              for (const page of pages) await transport.push(page)
              await transport.close()
            }),
          )
          return Number((await (store as SqliteStore).latestVersion()).value)
        },
        after: release,
      },
      {
        name: 'fetch POST + node:http + raw better-sqlite3',
        kind: 'baseline',
        definition: `HTTP push: bare pipeline, ${clients} client${clients === 1 ? '' : 's'}`,
        note: 'JSON.stringify, fetch POST, JSON.parse, prepared INSERT in one transaction per page',
        before: async () => {
          path = freshDbPath(ctx, 'push-raw')
          raw = await openRawLog(path)
          const started = await startBaselineServer(raw)
          bare = started.server
          url = started.url
        },
        run: async () => {
          await Promise.all(
            slices.map(async (pages) => {
              for (const page of pages) {
                const response = await fetch(`${url}/push`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify(page),
                })
                if (!response.ok) throw new Error(`baseline push failed: ${response.status}`)
                await response.json()
              }
            }),
          )
          const row = (raw as RawSqliteLog).db.prepare('SELECT count(*) AS n FROM events').get()
          return (row as { n: number }).n
        },
        after: release,
      },
    ],
  }
}

/**
 * Runs section 3.
 * @param ctx - the run's context.
 * @returns one result per measured sync.
 * @example
 * ```ts
 * import { runEndToEndSection } from './sections/end-to-end.js'
 *
 * const results = await runEndToEndSection(ctx)
 * ```
 */
export async function runEndToEndSection(ctx: BenchContext): Promise<GroupResult[]> {
  const { plan } = ctx
  const n = plan.e2eEvents
  const cap = Math.min(plan.quadraticCap, n)
  ctx.log(`[bench] 3 end-to-end: recording ${count(n)} events through a SyncManager`)
  const events = await recordEvents(ctx, n)
  const logux = await loadLogux()
  const results: GroupResult[] = []
  const capNote =
    cap < n
      ? `its MemoryStore insert is O(n) per action (O(n²) per log); measured on ${count(cap)} events below`
      : undefined
  const groups: Group[] = [
    loopbackGroup('e2e.loopback', events, cap < n ? undefined : logux, capNote),
  ]
  if (cap < n) {
    groups.push(loopbackGroup(`e2e.loopback.${cap}`, events.slice(0, cap), logux, undefined))
  }
  for (const group of groups) {
    ctx.log(`[bench] 3 end-to-end: ${group.operation}`)
    results.push(await measureGroup(group, plan.macro))
  }
  const http = await httpGroup(ctx, events)
  ctx.log(`[bench] 3 end-to-end: ${http.operation}`)
  try {
    results.push(await measureGroup(http, plan.macro))
  } finally {
    http.cleanup()
  }
  for (const clients of PUSH_CLIENTS) {
    const push = httpPushGroup(ctx, events, clients)
    ctx.log(`[bench] 3 end-to-end: ${push.operation}`)
    results.push(await measureGroup(push, plan.macro))
  }
  return results
}
