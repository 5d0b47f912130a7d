/**
 * The messages between the load test's parent process (bench/load/load.ts) and its worker
 * processes (bench/load/load-worker.ts), over the `child_process.fork` IPC channel with the
 * `advanced` serialisation (structured clone: `Set` and `Map` travel as they are).
 *
 * Times are wall-clock milliseconds on this machine, `performance.timeOrigin +
 * performance.now()` in every process, so a time taken in one worker can be compared with one
 * taken in another.
 *
 * @module
 */
import type { HistogramData } from './histogram.js'
import type { LogDifference, LogDigest } from './log-digest.js'

/** One client a worker runs. */
export interface ClientSpec {
  /** Its node id (`c000`, `c001`, …). */
  readonly nodeId: string
  /** The server instance it talks to. */
  readonly url: string
}

/** Parent → worker. */
export type ToWorker =
  | {
      /** Create and start the clients; answer `ready` once each has its live stream. */
      readonly kind: 'init'
      readonly clients: readonly ClientSpec[]
      /** Events per second per client. */
      readonly rate: number
      /** Aggregate ids the clients edit. */
      readonly aggregates: readonly string[]
    }
  | {
      /** Record from `startAt` until `endAt`; answer `written`. */
      readonly kind: 'go'
      readonly startAt: number
      readonly endAt: number
    }
  | {
      /** Every client must end with `total` events; answer `settled` when each holds them. */
      readonly kind: 'expect'
      readonly total: number
    }
  | {
      /** Stop every manager and close the transports; answer `stopped`. */
      readonly kind: 'stop'
    }
  | {
      /** Compare every client's log with the server's; answer `verified`. */
      readonly kind: 'verify'
      readonly server: LogDigest
    }

/** What a worker measured, sent with `stopped`. */
export interface WorkerStats {
  /** Round trip of each `transport.push` call that succeeded, ms. */
  readonly pushRoundTrip: HistogramData
  /** Round trip of each `transport.pull` call that succeeded, ms. */
  readonly pullRoundTrip: HistogramData
  /** From `record()` to the end of the first successful push that carried the event, ms. */
  readonly recordToAck: HistogramData
  /** From `record()` on the writer to the event being stored in another client's store, ms. */
  readonly liveDelivery: HistogramData
  /** How late each `record()` ran after its scheduled time, ms (the load generator's own lag). */
  readonly pacingLag: HistogramData
  /** Event-loop delay of the worker (`monitorEventLoopDelay`), ms. */
  readonly eventLoopDelay: { readonly p99: number; readonly max: number }
  /** Events this worker's clients recorded and had acknowledged by the end of the writing window. */
  readonly ackedInWindow: number
  /** Own events acknowledged at all. */
  readonly acked: number
  /** `transport.push` calls: succeeded, failed. */
  readonly pushCalls: number
  readonly pushFailures: number
  /** Events in successful push calls (client side of the wire). */
  readonly pushedEvents: number
  /** `transport.pull` calls that succeeded, and the events in them. */
  readonly pullCalls: number
  readonly pulledEvents: number
  /** Events new to the client store that came by pulling. */
  readonly pulledNew: number
  /** Conflicts the managers reported. */
  readonly conflicts: number
  /** `error` events and rejected `sync()` calls, with the first few messages. */
  readonly errors: number
  readonly errorMessages: readonly string[]
  /** Clients that held the expected total when stopped. */
  readonly clientsSettled: number
}

/** Worker → parent. */
export type FromWorker =
  | { readonly kind: 'ready' }
  | {
      readonly kind: 'written'
      /** Ids of every event the worker's clients recorded. */
      readonly recorded: readonly string[]
      /** When the last `record()` of the worker returned. */
      readonly lastRecordAt: number
      /** `record()` calls that threw. */
      readonly recordFailures: number
    }
  | {
      readonly kind: 'settled'
      /** When the last of the worker's clients stored its last new event. */
      readonly lastNewAt: number
    }
  | { readonly kind: 'stopped'; readonly stats: WorkerStats }
  | {
      readonly kind: 'verified'
      /** One entry per client. */
      readonly clients: readonly { readonly nodeId: string; readonly difference: LogDifference }[]
    }
  | { readonly kind: 'failed'; readonly message: string }

/**
 * Wall-clock time in ms with sub-millisecond resolution, comparable across processes on this
 * machine.
 * @returns the time.
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now()
}
