/**
 * A worker process of the load test: holds many {@link LoadClient}s and answers the parent's
 * messages (see worker-protocol.ts): `init` → `ready` once every client has its live stream,
 * `go` → `written` when every client has recorded its share, `expect` → `settled` once every
 * client holds the expected number of events, `stop` → `stopped` with the measurements,
 * `verify` → `verified` with each client's difference from the server's log.
 *
 * Started by bench/load/load.ts with `child_process.fork` (`--import tsx`), never by hand.
 *
 * @module
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

import { Histogram } from './histogram.js'
import { LoadClient } from './load-client.js'
import type { ClientMetrics } from './load-client.js'
import { compareDigests, digestLog } from './log-digest.js'
import type { FromWorker, ToWorker, WorkerStats } from './worker-protocol.js'

const send = (message: FromWorker): void => {
  process.send?.(message)
}

/**
 * Sampling interval of the event-loop delay monitor, ms. Node 20's histogram holds the whole
 * interval between samples (an idle loop reads ~10.1 ms), so the interval is subtracted.
 */
const LOOP_DELAY_RESOLUTION_MS = 10
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
loopDelay.enable()

let clients: LoadClient[] = []
let rate = 1
let expected: number | undefined
/** Clients holding `expected` events. */
let settledClients = 0
let settledSent = false

const metrics: ClientMetrics = {
  pushRoundTrip: new Histogram(),
  pullRoundTrip: new Histogram(),
  recordToAck: new Histogram(),
  liveDelivery: new Histogram(),
  pacingLag: new Histogram(),
  windowEnd: Infinity,
  ackedInWindow: 0,
  acked: 0,
  pushCalls: 0,
  pushFailures: 0,
  pushedEvents: 0,
  pullCalls: 0,
  pulledEvents: 0,
  pulledNew: 0,
  conflicts: 0,
  errors: 0,
  errorMessages: [],
  onNewEvent: (client) => {
    if (client.count === expected) {
      settledClients++
      checkSettled()
    }
  },
}

function checkSettled(): void {
  if (expected === undefined || settledSent || settledClients < clients.length) return
  settledSent = true
  send({ kind: 'settled', lastNewAt: Math.max(...clients.map((client) => client.lastNewAt)) })
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.kind) {
    case 'init': {
      rate = message.rate
      clients = message.clients.map(
        (spec) =>
          new LoadClient({
            nodeId: spec.nodeId,
            url: spec.url,
            aggregates: message.aggregates,
            metrics,
          }),
      )
      for (const client of clients) client.start()
      await Promise.all(clients.map((client) => client.subscribed))
      send({ kind: 'ready' })
      return
    }
    case 'go': {
      metrics.windowEnd = message.endAt
      loopDelay.reset()
      const results = await Promise.all(
        clients.map((client) => client.write(message.startAt, message.endAt, rate)),
      )
      send({
        kind: 'written',
        recorded: results.flatMap((result) => result.ids),
        lastRecordAt: performance.timeOrigin + performance.now(),
        recordFailures: results.reduce((sum, result) => sum + result.failures, 0),
      })
      return
    }
    case 'expect': {
      expected = message.total
      settledClients = clients.filter((client) => client.count === expected).length
      checkSettled()
      return
    }
    case 'stop': {
      await Promise.all(clients.map((client) => client.stop()))
      loopDelay.disable()
      const stats: WorkerStats = {
        pushRoundTrip: metrics.pushRoundTrip.toData(),
        pullRoundTrip: metrics.pullRoundTrip.toData(),
        recordToAck: metrics.recordToAck.toData(),
        liveDelivery: metrics.liveDelivery.toData(),
        pacingLag: metrics.pacingLag.toData(),
        eventLoopDelay: {
          p99: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
          max: Math.max(0, loopDelay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS),
        },
        ackedInWindow: metrics.ackedInWindow,
        acked: metrics.acked,
        pushCalls: metrics.pushCalls,
        pushFailures: metrics.pushFailures,
        pushedEvents: metrics.pushedEvents,
        pullCalls: metrics.pullCalls,
        pulledEvents: metrics.pulledEvents,
        pulledNew: metrics.pulledNew,
        conflicts: metrics.conflicts,
        errors: metrics.errors,
        errorMessages: metrics.errorMessages,
        clientsSettled: clients.filter((client) => client.count === expected).length,
      }
      send({ kind: 'stopped', stats })
      return
    }
    case 'verify': {
      const results = []
      // One client at a time, each let go once checked: the check's transient memory is one
      // client's log and digest. (Before folds got their own cache, materialising kept a parsed
      // vector clock beside every stored event: the 100-client check ran out of heap.)
      for (let client = clients.shift(); client !== undefined; client = clients.shift()) {
        const digest = digestLog(await client.events())
        results.push({ nodeId: client.nodeId, difference: compareDigests(digest, message.server) })
      }
      send({ kind: 'verified', clients: results })
      return
    }
  }
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((error: unknown) => {
    send({
      kind: 'failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    })
  })
})
// The parent going away ends the worker (its clients' connections with it).
process.on('disconnect', () => process.exit(0))
