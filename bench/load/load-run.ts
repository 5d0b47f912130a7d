/**
 * One load run: starts the servers (through a {@link ServerLauncher}), forks the workers, spreads
 * the clients over them and over the server URLs (round-robin), runs the phases (ready → write →
 * settle → stop → verify), samples RSS and CPU throughout, and builds the report.
 *
 * @module
 */
import { readFile, readdir } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'

import { createHttpTransport } from '../../src/transports/http/index.js'
import type { Event, Version } from '../../src/index.js'
import { Histogram } from './histogram.js'
import type { LoadOptions } from './load-options.js'
import { summarizeProfile } from '../profile.js'
import type { CheckFailure, LoadProfile, LoadReport } from './load-report.js'
import { WorkerHandle } from './load-workers.js'
import { digestLog } from './log-digest.js'
import { ProcessSampler } from './process-sampler.js'
import type { LaunchedServers, ServerLauncher } from './servers.js'
import { wallNow } from './worker-protocol.js'
import type { ClientSpec, FromWorker, WorkerStats } from './worker-protocol.js'

/** Time every client gets to start and open its live stream. */
const READY_TIMEOUT_MS = 60_000
/** Time between the clients being ready and the first scheduled event. */
const START_DELAY_MS = 500
/** Slack for the writers beyond the duration (a loaded worker runs its timers late). */
const WRITE_SLACK_MS = 60_000
/** Time the workers get to stop their clients, and to check their logs. */
const STOP_TIMEOUT_MS = 60_000
const VERIFY_TIMEOUT_MS = 300_000
/** Between RSS/CPU readings. */
const SAMPLE_INTERVAL_MS = 250
/** Events per page when reading the server's log. */
const SERVER_PAGE = 1_000

/**
 * Runs the load test.
 * @param options - the run's options.
 * @param launcher - starts the servers.
 * @param progress - receives progress lines.
 * @returns the report.
 * @throws Error when the servers or workers fail (not when the check fails: that is in the report).
 */
export async function runLoad(
  options: LoadOptions,
  launcher: ServerLauncher,
  progress: (line: string) => void,
): Promise<LoadReport> {
  const runStarted = performance.now()
  const loadAverageBefore = loadavg().map(round2)
  const servers = await launcher({
    instances: options.serverInstances,
    progress,
    pgUrl: options.pgUrl,
    profileDir: options.profile,
  })
  progress(
    `[load] ${servers.description}: ${servers.urls.join(', ')} (pid ${servers.pids.join(', ')})`,
  )
  const workers = Array.from(
    { length: options.workers },
    (_, i) => new WorkerHandle(i, options.profile),
  )
  const sampler = new ProcessSampler({
    server: servers.pids,
    clients: workers.map((worker) => worker.pid),
    harness: [process.pid],
  })
  sampler.start(SAMPLE_INTERVAL_MS)
  let report: LoadReport
  try {
    report = await drive(
      options,
      servers,
      workers,
      sampler,
      progress,
      runStarted,
      loadAverageBefore,
    )
  } finally {
    sampler.stop()
    await Promise.all(workers.map((worker) => worker.end()))
  }
  if (options.profile === undefined) return report
  return {
    ...report,
    profile: await workerProfiles(
      options.profile,
      workers.map((w) => w.pid),
    ),
  }
}

/**
 * Self time of the workers' main threads (their `--cpu-prof` files in `dir`, named
 * `CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile`; thread 0 is the main one, the others are tsx's
 * module-loader thread), summed over the workers, as a share of the busy (not idle) time.
 */
async function workerProfiles(dir: string, pids: readonly number[]): Promise<LoadProfile> {
  const files = (await readdir(dir)).filter(
    (name) => name.endsWith('.cpuprofile') && pids.some((pid) => name.includes(`.${pid}.0.`)),
  )
  const byFile = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let totalMs = 0
  for (const name of files) {
    const profile = JSON.parse(await readFile(join(dir, name), 'utf8')) as Parameters<
      typeof summarizeProfile
    >[0]
    const summary = summarizeProfile(profile)
    const idle = summary.files.find((f) => f.file === '(idle)')?.ms ?? 0
    totalMs += summary.totalMs - idle
    for (const f of summary.files) {
      if (f.file !== '(idle)') byFile.set(f.file, (byFile.get(f.file) ?? 0) + f.ms)
    }
    for (const f of summary.functions) {
      if (!f.name.startsWith('(idle)')) byFunction.set(f.name, (byFunction.get(f.name) ?? 0) + f.ms)
    }
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, percent: round2((ms / Math.max(1, totalMs)) * 100) }))
  return {
    dir,
    profiles: files.length,
    totalMs: Math.round(totalMs),
    files: top(byFile, 12),
    functions: top(byFunction, 20),
  }
}

async function drive(
  options: LoadOptions,
  servers: LaunchedServers,
  workers: readonly WorkerHandle[],
  sampler: ProcessSampler,
  progress: (line: string) => void,
  runStarted: number,
  loadAverageBefore: number[],
): Promise<LoadReport> {
  // --- ready: clients spread round-robin over the workers and over the server URLs
  const aggregates = Array.from({ length: options.aggregates }, (_, i) => `doc-${i}`)
  const specs: ClientSpec[][] = workers.map(() => [])
  for (let i = 0; i < options.clients; i++) {
    specs[i % workers.length]?.push({
      nodeId: `c${String(i).padStart(3, '0')}`,
      url: servers.urls[i % servers.urls.length] as string,
    })
  }
  workers.forEach((worker, i) =>
    worker.send({ kind: 'init', clients: specs[i] ?? [], rate: options.rate, aggregates }),
  )
  await all(workers, 'ready', READY_TIMEOUT_MS)
  progress(
    `[load] ${options.clients} clients live on ${workers.length} worker(s); recording for ${options.durationS} s`,
  )

  // --- write
  const durationMs = options.durationS * 1000
  const startAt = wallNow() + START_DELAY_MS
  const endAt = startAt + durationMs
  for (const worker of workers) worker.send({ kind: 'go', startAt, endAt })
  const written = await all(workers, 'written', START_DELAY_MS + durationMs + WRITE_SLACK_MS)
  const recorded = new Set(written.flatMap((answer) => answer.recorded))
  const writersStoppedAt = Math.max(...written.map((answer) => answer.lastRecordAt))
  const recordFailures = written.reduce((sum, answer) => sum + answer.recordFailures, 0)
  progress(
    `[load] writers stopped: ${recorded.size} events recorded; waiting for every client to hold them`,
  )

  // --- settle
  for (const worker of workers) worker.send({ kind: 'expect', total: recorded.size })
  const settleTimeoutMs = options.settleTimeoutS * 1000
  const drainTimeoutMs = options.drainTimeoutS * 1000
  const settling = all(workers, 'settled', Infinity)
  // A worker that fails rejects `settling` later, when it is awaited again (or never).
  settling.catch(() => undefined)
  let lastNewAt = await within(settling, writersStoppedAt + settleTimeoutMs)
  const settled = lastNewAt !== undefined
  if (!settled) {
    progress(`[load] not settled within ${options.settleTimeoutS} s after the writers stopped`)
    if (drainTimeoutMs > 0) {
      progress(
        `[load] draining: the clients keep syncing for up to ${options.drainTimeoutS} s more`,
      )
      lastNewAt = await within(settling, writersStoppedAt + settleTimeoutMs + drainTimeoutMs)
    }
  }

  // --- stop, then read the server's log and compare every client's with it
  for (const worker of workers) worker.send({ kind: 'stop' })
  const stats = (await all(workers, 'stopped', STOP_TIMEOUT_MS)).map((answer) => answer.stats)
  const settledAt = performance.now()
  // What the clients sent and received; the harness's own read of the log below is not counted.
  const wire = structuredClone(servers.wire)
  const serverLog = await readServerLog(servers.urls[0] as string)
  const serverDigest = digestLog(serverLog.events)
  for (const worker of workers) worker.send({ kind: 'verify', server: serverDigest })
  const verified = (await all(workers, 'verified', VERIFY_TIMEOUT_MS)).flatMap(
    (answer) => answer.clients,
  )
  const exitCodes = await servers.stop()
  const runEnded = performance.now()
  const goAt = startAt - performance.timeOrigin
  const stoppedAt = writersStoppedAt - performance.timeOrigin

  // --- the check
  let missing = 0
  for (const id of recorded) if (!serverDigest.ids.has(id)) missing++
  let unknown = 0
  for (const id of serverDigest.ids) if (!recorded.has(id)) unknown++
  const sum = (key: keyof (typeof verified)[number]['difference']): number =>
    verified.reduce((total, client) => total + client.difference[key], 0)
  const equal = verified.filter((client) => Object.values(client.difference).every((n) => n === 0))
  const failures: CheckFailure[] = []
  if (!settled) {
    const after =
      lastNewAt === undefined
        ? drainTimeoutMs > 0
          ? ` (nor in the ${options.drainTimeoutS} s drain after it)`
          : ''
        : ` (they did ${Math.round(lastNewAt - writersStoppedAt)} ms after the writers stopped)`
    failures.push(`clients did not settle within ${options.settleTimeoutS} s${after}`)
  }
  if (missing > 0) {
    failures.push(
      `${missing} recorded events are not on the server${settled ? '' : ' (lost, or still queued in their writer when the clients were stopped)'}`,
    )
  }
  if (unknown > 0) failures.push(`${unknown} events on the server were never recorded`)
  if (serverDigest.duplicates > 0)
    failures.push(`the server's log holds ${serverDigest.duplicates} events twice`)
  if (recordFailures > 0) failures.push(`${recordFailures} record() calls threw`)
  if (equal.length < verified.length) {
    const worst = verified.find((client) => !equal.includes(client))
    failures.push(
      `${verified.length - equal.length} of ${verified.length} clients differ from the server (e.g. ${worst?.nodeId}: ${JSON.stringify(worst?.difference)})`,
    )
  }

  const merged = (
    key: 'pushRoundTrip' | 'pullRoundTrip' | 'recordToAck' | 'liveDelivery' | 'pacingLag',
  ) => Histogram.merge(stats.map((s) => s[key])).summary()
  const total = (key: keyof WorkerStats): number =>
    stats.reduce((n, s) => n + (typeof s[key] === 'number' ? s[key] : 0), 0)
  const ackedInWindow = total('ackedInWindow')
  // The PostgreSQL server's URL may hold a password: the report names the database instead.
  const shownOptions: LoadOptions = { ...options }
  delete (shownOptions as { pgUrl?: string }).pgUrl
  return {
    benchmark: 'load',
    options: shownOptions,
    machine: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadAverageBefore,
      loadAverageAfter: loadavg().map(round2),
    },
    server: {
      description: servers.description,
      urls: servers.urls,
      pids: servers.pids,
      notes: servers.notes,
      exitCodes,
      wireByInstance: servers.wireByInstance.map((counters, i) => ({
        url: servers.urls[i] as string,
        pushRequests: counters.pushRequests,
        storedEvents: counters.storedEvents,
        duplicateEvents: counters.duplicateEvents,
        pullRequests: counters.pullRequests,
        streamsOpened: counters.streamsOpened,
        refused: counters.refused,
      })),
    },
    events: {
      recorded: recorded.size,
      recordFailures,
      targetPerSecond: options.clients * options.rate,
      recordedPerSecond: round2(recorded.size / options.durationS),
      heldPerSecond: round2(ackedInWindow / options.durationS),
      ackedInWindow,
    },
    latencyMs: {
      pushRoundTrip: merged('pushRoundTrip'),
      serverPushHandling: servers.pushHandling.summary(),
      pullRoundTrip: merged('pullRoundTrip'),
      recordToAck: merged('recordToAck'),
      liveDelivery: merged('liveDelivery'),
      pacingLag: merged('pacingLag'),
      censored: {
        recordToAck: recorded.size - total('acked'),
        liveDelivery: recorded.size * (options.clients - 1) - total('pulledNew'),
      },
    },
    serverResources: {
      writing: sampler.summary('server', goAt, stoppedAt),
      run: sampler.summary('server', runStarted, runEnded),
    },
    harnessResources: sampler.summary('harness', goAt, stoppedAt),
    clientResources: {
      workers: workers.length,
      writing: sampler.summary('clients', goAt, stoppedAt),
      run: sampler.summary('clients', runStarted, settledAt),
      eventLoopDelayP99Ms: round2(Math.max(...stats.map((s) => s.eventLoopDelay.p99))),
      eventLoopDelayMaxMs: round2(Math.max(...stats.map((s) => s.eventLoopDelay.max))),
    },
    wire: {
      ...wire,
      echoRatio: wire.storedEvents === 0 ? null : round2(wire.pushedEvents / wire.storedEvents),
      clientPushedEvents: total('pushedEvents'),
      clientPushFailures: total('pushFailures'),
      clientPulledEvents: total('pulledEvents'),
      clientPulledNew: total('pulledNew'),
    },
    sequence: { latestVersion: serverLog.latestVersion, events: serverLog.events.length },
    settle: {
      settled,
      afterWritersStopMs:
        lastNewAt === undefined ? null : Math.round(Math.max(0, lastNewAt - writersStoppedAt)),
      timeoutMs: settleTimeoutMs,
      drainTimeoutMs,
      clientsSettled: total('clientsSettled'),
      clients: options.clients,
    },
    check: {
      passed: failures.length === 0,
      server: {
        events: serverLog.events.length,
        duplicates: serverDigest.duplicates,
        missing,
        unknown,
      },
      clients: {
        equal: equal.length,
        total: verified.length,
        missingEvents: sum('missing'),
        extraEvents: sum('extra'),
        duplicatedEvents: sum('duplicated'),
        orderMismatches: sum('orderMismatches'),
        stateMismatches: sum('stateMismatches'),
      },
      failures,
    },
    clientEvents: {
      conflicts: total('conflicts'),
      errors: total('errors'),
      errorMessages: stats.flatMap((s) => s.errorMessages).slice(0, 10),
    },
    runMs: Math.round(runEnded - runStarted),
  }
}

/** Waits for one answer of a kind from every worker. */
async function all<TKind extends FromWorker['kind']>(
  workers: readonly WorkerHandle[],
  kind: TKind,
  timeoutMs: number,
): Promise<Extract<FromWorker, { kind: TKind }>[]> {
  return Promise.all(workers.map((worker) => worker.next(kind, timeoutMs)))
}

/**
 * The last client's last new-event time, if every worker reports `settled` before the wall-clock
 * `deadline`; else `undefined`.
 */
async function within(
  settling: Promise<readonly { readonly lastNewAt: number }[]>,
  deadline: number,
): Promise<number | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - wallNow()))
  })
  try {
    const answers = await Promise.race([settling, timeout])
    return answers === undefined
      ? undefined
      : Math.max(...answers.map((answer) => answer.lastNewAt))
  } finally {
    clearTimeout(timer)
  }
}

/** Reads the whole log of a server over HTTP, as a client would, and its latest version. */
async function readServerLog(url: string): Promise<{ events: Event[]; latestVersion: string }> {
  const transport = createHttpTransport({ url })
  try {
    const events: Event[] = []
    let since: Version | null = null
    for (;;) {
      const page = await transport.pull(since, { limit: SERVER_PAGE })
      for (const item of page.events) events.push(item.event)
      since = page.events.at(-1)?.version ?? since
      if (!page.hasMore || page.events.length === 0) break
    }
    const latestVersion = (await transport.latestVersion()).toString()
    return { events, latestVersion }
  } finally {
    await transport.close()
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}
