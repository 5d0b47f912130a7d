/**
 * Command-line front end of `npm run demo`: flag parsing, progress on stderr, one JSON line on
 * stdout, exit codes.
 *
 * @example
 * ```ts
 * import { runDemoCli } from './traces/cli.js'
 *
 * process.exitCode = await runDemoCli(process.argv.slice(2), {
 *   stdout: (line) => process.stdout.write(`${line}\n`),
 *   stderr: (line) => process.stderr.write(`${line}\n`),
 * })
 * ```
 *
 * @module
 */
import { basename } from 'node:path'
import { parseArgs } from 'node:util'

import { SyncKitError, isSyncKitError } from 'sync-kit'
import { DEMO_STORES, DEMO_TRANSPORTS, createDemoSetup } from '../http-mode.js'
import type { DemoStoreKind, DemoTransportKind } from '../http-mode.js'
import { DEFAULT_REPLICAS, DEFAULT_SEGMENT, MAX_REPLICAS, runTraceDemo } from './replay.js'
import { runConcurrentReplay } from './concurrent-replay.js'
import { DEFAULT_TRACE_PATH, loadTrace } from './trace-file.js'

/** Exit code: every replica converged. */
export const EXIT_CONVERGED = 0
/** Exit code: the replay ran but did not converge, or failed unexpectedly. */
export const EXIT_NOT_CONVERGED = 1
/** Exit code: bad flags or an unusable trace file (nothing was replayed). */
export const EXIT_USAGE = 2

/** The `--help` text. */
export const DEMO_USAGE: string = [
  `Usage: npm run demo -- [--trace PATH] [--replicas N] [--segment K] [--transport T] [--store S]`,
  ``,
  `Replays a real keystroke trace through sync-kit: N replicas (memory stores, one loopback hub)`,
  `take turns writing K txns each as events, syncing between turns; at the end every replica's`,
  `projected document must equal the trace's endContent.`,
  ``,
  `A concurrent trace (e.g. examples/data/concurrent-friendsforever.json.gz) is replayed with one`,
  `replica per agent, each txn written once its replica holds exactly the txn's ancestors; the`,
  `run checks sync-kit's causal relation against the trace's parents DAG for every pair of events,`,
  `the causal order of each replica's log, and convergence (--replicas and --segment do not apply).`,
  ``,
  `Options:`,
  `  --trace PATH     sequential or concurrent editing trace, gzipped or plain JSON`,
  `                   (default: examples/data/sequential-automerge-paper.json.gz)`,
  `  --replicas N     number of replicas, 1 … ${MAX_REPLICAS} (default: ${DEFAULT_REPLICAS}); each holds`,
  `                   the whole trace in memory (~350 MB for automerge-paper)`,
  `  --segment K      txns each replica writes per turn, ≥ 1 (default: ${DEFAULT_SEGMENT})`,
  `  --transport T    loopback (in process), http or ws: a real \`sync-kit serve\` process on a`,
  `                   SQLite file, restarted once halfway through the run, reached over HTTP +`,
  `                   SSE or over WebSocket (sync-kit/ws) (default: loopback)`,
  `  --store S        memory or sqlite: each replica its own SQLite file in a temporary`,
  `                   directory, deleted afterwards (default: memory)`,
  `  -h, --help       show this help`,
  ``,
  `Output: progress on stderr; one JSON line last on stdout:`,
  `  {"trace":…,"events":…,"replicas":…,"converged":true|false,"ms":…,"eventsPerSec":…}`,
  `  concurrent: {"trace":…,"events":…,"replicas":…,"pairsChecked":…,"relationMismatches":…,`,
  `  "causalOrderViolations":…,"conflictsDetected":…,"converged":…,"unexpectedPulls":…,`,
  `  "sampling":{…},"ms":…}`,
  `Exit codes: 0 converged (concurrent: and no mismatch or violation), 1 not converged, a mismatch`,
  `or violation (or an unexpected failure), 2 bad flags or trace file.`,
].join('\n')

/** Parsed flags of the demo. */
export interface DemoArgs {
  /** True when `--help` was given (the other flags are then not checked and left at defaults). */
  readonly help: boolean
  /** The trace file path. @defaultValue {@link DEFAULT_TRACE_PATH} */
  readonly trace: string
  /** Number of replicas. @defaultValue {@link DEFAULT_REPLICAS} */
  readonly replicas: number
  /** Txns per turn. @defaultValue {@link DEFAULT_SEGMENT} */
  readonly segment: number
  /** How replicas reach each other (sequential traces). @defaultValue `'loopback'` */
  readonly transport: DemoTransportKind
  /** Where replicas keep events (sequential traces). @defaultValue `'memory'` */
  readonly store: DemoStoreKind
}

/** Where the CLI writes: one call per line, without the newline. */
export interface DemoCliOutput {
  /** Receives the final JSON line (and the help text). */
  readonly stdout: (line: string) => void
  /** Receives progress lines and error messages. */
  readonly stderr: (line: string) => void
}

/**
 * Parses the demo's flags strictly (unknown flags and positional arguments are errors).
 * @param argv - the arguments after the script name.
 * @returns the flags with defaults filled in.
 * @throws SyncKitError `invalid-argument` (details name the flag) for an unknown flag, a missing
 * value, a positional argument or a number out of range.
 * @example
 * ```ts
 * import { parseDemoArgs } from './traces/cli.js'
 *
 * parseDemoArgs(['--replicas', '5']).replicas // 5
 * ```
 */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let values: {
    trace?: string
    replicas?: string
    segment?: string
    transport?: string
    store?: string
    help?: boolean
  }
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        trace: { type: 'string' },
        replicas: { type: 'string' },
        segment: { type: 'string' },
        transport: { type: 'string' },
        store: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (error) {
    // Node's messages end with a full stop and may span lines; keep one readable sentence.
    const why = (error instanceof Error ? error.message : String(error))
      .replace(/\s*\n\s*/g, ' ')
      .replace(/\.$/, '')
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [trace-demo] ${why}; run with --help for the flags`,
      { argument: 'argv' },
      { cause: error },
    )
  }
  if (values.help === true) {
    return {
      help: true,
      trace: DEFAULT_TRACE_PATH,
      replicas: DEFAULT_REPLICAS,
      segment: DEFAULT_SEGMENT,
      transport: 'loopback',
      store: 'memory',
    }
  }
  if (values.trace === '') {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-kit] [trace-demo] --trace needs a file path; run with --help for the flags',
      { argument: 'trace' },
    )
  }
  return {
    help: false,
    trace: values.trace ?? DEFAULT_TRACE_PATH,
    replicas: parseCount('replicas', values.replicas, DEFAULT_REPLICAS, MAX_REPLICAS),
    segment: parseCount('segment', values.segment, DEFAULT_SEGMENT, Number.MAX_SAFE_INTEGER),
    transport: parseChoice('transport', values.transport, DEMO_TRANSPORTS, 'loopback'),
    store: parseChoice('store', values.store, DEMO_STORES, 'memory'),
  }
}

/**
 * Runs the demo as a command: parses `argv`, replays the trace, writes progress to `stderr` and
 * the JSON line to `stdout`.
 * @param argv - the arguments after the script name.
 * @param output - where to write lines.
 * @returns the exit code: {@link EXIT_CONVERGED}, {@link EXIT_NOT_CONVERGED} or {@link EXIT_USAGE}.
 * @example
 * ```ts
 * import { runDemoCli } from './traces/cli.js'
 *
 * const code = await runDemoCli(['--help'], { stdout: console.log, stderr: console.error })
 * ```
 */
export async function runDemoCli(argv: readonly string[], output: DemoCliOutput): Promise<number> {
  let args: DemoArgs
  try {
    args = parseDemoArgs(argv)
  } catch (error) {
    output.stderr(messageOf(error))
    return EXIT_USAGE
  }
  if (args.help) {
    output.stdout(DEMO_USAGE)
    return EXIT_CONVERGED
  }
  try {
    const loaded = await loadTrace(args.trace)
    if (loaded.kind === 'concurrent') {
      if (args.transport !== 'loopback' || args.store !== 'memory') {
        output.stderr(
          '[sync-kit] [trace-demo] --transport and --store apply to sequential traces; the concurrent replay runs on memory stores and a loopback hub',
        )
        return EXIT_USAGE
      }
      const result = await runConcurrentReplay({
        trace: loaded,
        traceName: basename(args.trace),
        onProgress: output.stderr,
      })
      const { trace, events, replicas, pairsChecked, relationMismatches } = result
      const { causalOrderViolations, conflictsDetected, converged, unexpectedPulls } = result
      const { sampling, ms } = result
      output.stdout(
        JSON.stringify({
          trace,
          events,
          replicas,
          pairsChecked,
          relationMismatches,
          causalOrderViolations,
          conflictsDetected,
          converged,
          unexpectedPulls,
          sampling,
          ms,
        }),
      )
      return result.passed ? EXIT_CONVERGED : EXIT_NOT_CONVERGED
    }
    const setup = await createDemoSetup({
      transport: args.transport,
      store: args.store,
      onProgress: output.stderr,
    })
    let result
    try {
      result = await runTraceDemo({
        trace: loaded,
        traceName: basename(args.trace),
        replicas: args.replicas,
        segment: args.segment,
        onProgress: output.stderr,
        ...(setup === undefined ? {} : { setup }),
      })
    } finally {
      await setup?.close()
    }
    const { trace, events, replicas, converged, ms, eventsPerSec } = result
    output.stdout(JSON.stringify({ trace, events, replicas, converged, ms, eventsPerSec }))
    return converged ? EXIT_CONVERGED : EXIT_NOT_CONVERGED
  } catch (error) {
    if (isSyncKitError(error, 'invalid-argument') && error.details.argument === 'trace') {
      output.stderr(messageOf(error))
      return EXIT_USAGE
    }
    output.stderr(`[sync-kit] [trace-demo] the replay failed: ${describeFailure(error)}`)
    return EXIT_NOT_CONVERGED
  }
}

function parseCount(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [trace-demo] --${name} must be an integer in 1 … ${max}, got ${JSON.stringify(raw)}`,
      { argument: name },
    )
  }
  return value
}

function parseChoice<const T extends string>(
  name: string,
  raw: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (raw === undefined) return fallback
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [trace-demo] --${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`,
      { argument: name },
    )
  }
  return raw as T
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.stack ?? error.message
  return String(error)
}
