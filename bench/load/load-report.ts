/**
 * The load test's report: one JSON document (stdout, `--json FILE`) and its human summary
 * (stderr). Every figure is described where it is declared; docs/benchmarks.md ("Load test")
 * says how each is measured.
 *
 * @module
 */
import type { LatencySummary } from './histogram.js'
import type { LoadOptions } from './load-options.js'
import type { ResourceSummary } from './process-sampler.js'
import type { WireCounters } from './servers.js'

/** A failed part of the exactly-once check, for people. */
export type CheckFailure = string

/** The report of one `npm run load` run. */
export interface LoadReport {
  readonly benchmark: 'load'
  /** The options of the run, defaults filled in. */
  readonly options: LoadOptions
  /** When and where it ran. */
  readonly machine: {
    readonly date: string
    readonly node: string
    readonly cpus: number
    readonly cpuModel: string
    /** 1-, 5- and 15-minute load averages when the run started and when it ended. */
    readonly loadAverageBefore: readonly number[]
    readonly loadAverageAfter: readonly number[]
  }
  /** What ran as the server. */
  readonly server: {
    readonly description: string
    readonly urls: readonly string[]
    readonly pids: readonly number[]
    readonly notes: readonly string[]
    /** Exit codes of the instances after SIGTERM (0: clean shutdown). */
    readonly exitCodes: readonly (number | null)[]
    /** What each instance's request log says it served (same order as `urls`). */
    readonly wireByInstance: readonly {
      readonly url: string
      readonly pushRequests: number
      readonly storedEvents: number
      readonly duplicateEvents: number
      readonly pullRequests: number
      readonly streamsOpened: number
      readonly refused: Record<string, number>
    }[]
  }
  /** Counts and rates of events. */
  readonly events: {
    /** Events the clients recorded (`record()` calls that returned). */
    readonly recorded: number
    /** `record()` calls that threw. */
    readonly recordFailures: number
    /** clients × rate. */
    readonly targetPerSecond: number
    /** recorded / duration. */
    readonly recordedPerSecond: number
    /** Events acknowledged to their writer by the end of the writing window / duration. */
    readonly heldPerSecond: number
    /** Events acknowledged to their writer by the end of the writing window. */
    readonly ackedInWindow: number
  }
  /** Latencies, ms (nearest rank on 1 %-wide buckets; see histogram.ts). */
  readonly latencyMs: {
    /** Each successful `transport.push` call, from call to resolve. */
    readonly pushRoundTrip: LatencySummary
    /**
     * The server's own time for each successful push (its request log's `ms`: from the handler
     * receiving the request to the response): what of the round trip the server spends.
     */
    readonly serverPushHandling: LatencySummary
    /** Each successful `transport.pull` call. */
    readonly pullRoundTrip: LatencySummary
    /** Each event, from `record()` to the end of the first successful push that carried it. */
    readonly recordToAck: LatencySummary
    /** Each (event, other client) pair, from `record()` on the writer to the event being in the other client's store. */
    readonly liveDelivery: LatencySummary
    /** How late each `record()` ran after its scheduled time (the load generator's own lag). */
    readonly pacingLag: LatencySummary
    /**
     * Samples that never came: events never acknowledged to their writer, and (event, other
     * client) pairs never delivered, by the time the clients were stopped. The percentiles are
     * over the samples that came, so when these are not 0 they are lower bounds.
     */
    readonly censored: { readonly recordToAck: number; readonly liveDelivery: number }
  }
  /** RSS and CPU (% of one core) of the server processes, while writing and over the whole run. */
  readonly serverResources: { readonly writing: ResourceSummary; readonly run: ResourceSummary }
  /** CPU and RSS of this harness process (it reads every server log line), while writing. */
  readonly harnessResources: ResourceSummary
  /** The same for the worker processes that hold the clients (summed), and their event-loop delay. */
  readonly clientResources: {
    readonly workers: number
    readonly writing: ResourceSummary
    readonly run: ResourceSummary
    /** Largest p99 and max event-loop delay of the workers, ms. */
    readonly eventLoopDelayP99Ms: number
    readonly eventLoopDelayMaxMs: number
  }
  /** What went over the wire: the servers' request logs, and the clients' own count. */
  readonly wire: WireCounters & {
    /** pushedEvents / storedEvents: 1 means no event was sent twice (issue 10's echo). */
    readonly echoRatio: number | null
    /** Events in successful push calls, counted by the clients. */
    readonly clientPushedEvents: number
    /** Push calls that failed (then retried by the manager). */
    readonly clientPushFailures: number
    /** Events pulled by the clients, and those of them new to the puller. */
    readonly clientPulledEvents: number
    readonly clientPulledNew: number
  }
  /** The server's sequence: its latest version against the events it holds. */
  readonly sequence: { readonly latestVersion: string; readonly events: number }
  /** Whether every client came to hold every event in time. */
  readonly settle: {
    /** Every client held every event within `timeoutMs` after the writers stopped. */
    readonly settled: boolean
    /**
     * From the last writer's last `record()` to the last client storing its last new event, ms
     * (also when that was after the timeout, during the drain); `null` when they never settled.
     */
    readonly afterWritersStopMs: number | null
    readonly timeoutMs: number
    readonly drainTimeoutMs: number
    /** Clients holding every event when they were stopped. */
    readonly clientsSettled: number
    readonly clients: number
  }
  /** The exactly-once check. */
  readonly check: {
    readonly passed: boolean
    /** The server's log against the events the clients recorded. */
    readonly server: {
      readonly events: number
      readonly duplicates: number
      /**
       * Recorded events the server does not hold: lost, or, when the clients did not settle,
       * still queued in their writer's store when the clients were stopped.
       */
      readonly missing: number
      /** Events the server holds that no client recorded. */
      readonly unknown: number
    }
    /** Every client's log against the server's (sums over clients). */
    readonly clients: {
      /** Clients whose log equals the server's: same events, each once, same state. */
      readonly equal: number
      readonly total: number
      readonly missingEvents: number
      readonly extraEvents: number
      readonly duplicatedEvents: number
      readonly orderMismatches: number
      readonly stateMismatches: number
    }
    readonly failures: readonly CheckFailure[]
  }
  /** Conflicts and errors the managers reported. */
  readonly clientEvents: {
    readonly conflicts: number
    readonly errors: number
    readonly errorMessages: readonly string[]
  }
  /** Wall time of the whole run, ms. */
  readonly runMs: number
  /** With `--profile`: where the workers' (the clients') time went. */
  readonly profile?: LoadProfile
}

/** Self time of the worker processes under the V8 CPU profiler, summed over the workers. */
export interface LoadProfile {
  /** Where the `.cpuprofile` files are. */
  readonly dir: string
  readonly profiles: number
  /** Busy (not idle) sampled time of the workers' main threads, ms. */
  readonly totalMs: number
  /** Source files (or `(garbage collector)`, `(native)`, …) by self time, % of the busy time. */
  readonly files: readonly { readonly name: string; readonly percent: number }[]
  /** Functions by self time. */
  readonly functions: readonly { readonly name: string; readonly percent: number }[]
}

const ms = (value: number | null): string => (value === null ? '—' : `${value} ms`)
const pct = (value: number | null): string => (value === null ? '—' : `${value} %`)
const mib = (value: number | null): string => (value === null ? '—' : `${value} MiB`)

/**
 * The human summary of a report.
 * @param report - the report.
 * @returns lines for stderr.
 */
export function formatSummary(report: LoadReport): string {
  const { options: o, events: e, latencyMs: l, wire: w, settle: s, check: c } = report
  const lat = (name: string, summary: LatencySummary): string =>
    `  ${name.padEnd(22)} p50 ${ms(summary.p50)}, p99 ${ms(summary.p99)}, max ${ms(summary.max)} (n ${summary.n.toLocaleString('en-US')})`
  const sr = report.serverResources
  const cr = report.clientResources
  return [
    `load: ${o.clients} clients × ${o.rate} events/s for ${o.durationS} s on ${o.aggregates} aggregates, ${cr.workers} worker process(es); ${report.server.description}`,
    `  load average ${report.machine.loadAverageBefore.join(' ')} before, ${report.machine.loadAverageAfter.join(' ')} after (${report.machine.cpus} cores)`,
    `events: ${e.recorded.toLocaleString('en-US')} recorded (${e.recordedPerSecond}/s of ${e.targetPerSecond}/s), ${e.heldPerSecond}/s acknowledged within the window`,
    lat('push round trip', l.pushRoundTrip),
    lat('  of it in the server', l.serverPushHandling),
    lat('record → ack', l.recordToAck),
    lat('live delivery', l.liveDelivery),
    lat('pull round trip', l.pullRoundTrip),
    lat('pacing lag (generator)', l.pacingLag),
    ...(l.censored.recordToAck + l.censored.liveDelivery > 0
      ? [
          `  NOT COUNTED above (never came before the stop): ${l.censored.recordToAck.toLocaleString('en-US')} acks, ${l.censored.liveDelivery.toLocaleString('en-US')} deliveries — the percentiles are lower bounds`,
        ]
      : []),
    `server: CPU ${pct(sr.writing.cpuPercentMean)} of a core while writing (peak ${pct(sr.writing.cpuPercentPeak)}), RSS mean ${mib(sr.writing.rssMeanMiB)}, peak ${mib(sr.run.rssPeakMiB)}`,
    `clients: CPU ${pct(cr.writing.cpuPercentMean)} while writing, RSS peak ${mib(cr.run.rssPeakMiB)}, event-loop delay p99 ${cr.eventLoopDelayP99Ms} ms, max ${cr.eventLoopDelayMaxMs} ms`,
    ...(report.server.wireByInstance.length > 1
      ? report.server.wireByInstance.map(
          (i, n) =>
            `  instance ${n + 1} (${i.url}): ${i.pushRequests.toLocaleString('en-US')} pushes storing ${i.storedEvents.toLocaleString('en-US')} events, ${i.pullRequests.toLocaleString('en-US')} pulls, ${i.streamsOpened} streams, refused ${JSON.stringify(i.refused)}`,
        )
      : []),
    `wire: ${w.pushedEvents.toLocaleString('en-US')} events pushed for ${w.storedEvents.toLocaleString('en-US')} stored (echo ratio ${w.echoRatio ?? '—'}), ${w.pushRequests.toLocaleString('en-US')} pushes, ${w.pullRequests.toLocaleString('en-US')} pulls, refused ${JSON.stringify(w.refused)}; server sequence at ${report.sequence.latestVersion} for ${report.sequence.events.toLocaleString('en-US')} events`,
    s.settled
      ? `settled: every client held every event ${ms(s.afterWritersStopMs)} after the writers stopped`
      : `NOT SETTLED within ${s.timeoutMs} ms after the writers stopped: ${s.afterWritersStopMs === null ? `${s.clientsSettled} of ${s.clients} clients held every event when stopped` : `they did after ${s.afterWritersStopMs} ms`}`,
    c.passed
      ? `exactly-once: PASSED (server ${c.server.events.toLocaleString('en-US')} events, each once; ${c.clients.equal} of ${c.clients.total} clients equal to it)`
      : `exactly-once: FAILED — ${c.failures.join('; ')}`,
    ...(report.profile === undefined
      ? []
      : [
          `clients' self time, % of ${report.profile.totalMs} ms busy (${report.profile.profiles} worker profiles in ${report.profile.dir}):`,
          ...report.profile.files.map((f) => `  ${String(f.percent).padStart(6)} %  ${f.name}`),
        ]),
  ].join('\n')
}
