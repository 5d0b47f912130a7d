import type { Transport } from '../types/index.js'
import { checkSkips, checkSuiteOptions, fail } from './conformance-api.js'
import type { ConformanceSkips, ConformanceTestApi } from './conformance-api.js'
import type { CaseBody, CaseTable } from './transport-cases/helpers.js'
import { LIFECYCLE_CASES } from './transport-cases/lifecycle.js'
import { PUSH_PULL_CASES } from './transport-cases/push-pull.js'
import { LIVE_CASES } from './transport-cases/subscribe.js'
import { VALUES_CASES } from './transport-cases/values.js'
import { VERSIONS_CASES } from './transport-cases/versions.js'

/**
 * What `createTransport` returns for one case: a transport to a fresh, empty remote.
 *
 * @example
 * ```ts
 * import { createLoopbackHub } from 'sync-kit'
 * import type { TransportConformanceSetup } from 'sync-kit/testing'
 *
 * const hub = createLoopbackHub()
 * const setup: TransportConformanceSetup = {
 *   transport: hub.connect('a'),
 *   peer: hub.connect('b'),
 *   cleanup: () => hub.close(),
 * }
 * ```
 */
export interface TransportConformanceSetup {
  /** The transport under test, connected to a remote holding no events. */
  readonly transport: Transport
  /**
   * A second client of the same remote, for the fan-out cases: its pushes must reach
   * `transport`'s subscriptions. Without it those cases push through `transport` itself.
   */
  readonly peer?: Transport
  /** Releases the remote (stop a server, delete a database); runs after the case. */
  readonly cleanup?: () => Promise<void>
}

/**
 * Options for {@link transportConformance}.
 *
 * @example
 * ```ts
 * import type { TransportConformanceOptions } from 'sync-kit/testing'
 *
 * const extra: Partial<TransportConformanceOptions> = {
 *   subscribe: false, // a polling-only transport: the subscribe cases are skipped with a reason
 *   timeoutMs: 10_000,
 *   skip: { 'pull filters by type and aggregate_id': 'the remote has no filter support yet' },
 * }
 * ```
 */
export interface TransportConformanceOptions {
  /** Names the transport in the report, e.g. `loopback` or `http`. */
  readonly name: string
  /**
   * Creates a transport to a fresh, empty remote; called once per case. The suite closes
   * `transport` and `peer` after the case, then calls `cleanup`.
   */
  readonly createTransport: () => Promise<TransportConformanceSetup> | TransportConformanceSetup
  /** The test runner's functions. */
  readonly test: ConformanceTestApi
  /**
   * Cases to skip (case name from {@link TRANSPORT_CASES} → reason). An unknown name is an error,
   * so a typo never skips silently.
   * @defaultValue no skips
   */
  readonly skip?: ConformanceSkips
  /**
   * Whether the transport offers the optional live `subscribe`. When false the subscribe cases
   * are registered as skipped with that reason; when true and `subscribe` is missing they fail.
   * @defaultValue true
   */
  readonly subscribe?: boolean
  /**
   * How long a case waits for a live delivery before it fails, in ms. A bound for slow remotes,
   * not a performance target.
   * @defaultValue 5000
   */
  readonly timeoutMs?: number
}

/**
 * Names of the cases of {@link transportConformance}, usable as keys of its `skip` option.
 *
 * @example
 * ```ts
 * import { TRANSPORT_CASES } from 'sync-kit/testing'
 *
 * const live = TRANSPORT_CASES.filter((name) => name.includes('subscribe'))
 * ```
 */
export const TRANSPORT_CASES: readonly string[] = Object.freeze([
  'push then pull returns the events in order with increasing versions',
  'pull returns only events strictly after the given version',
  'pull pages with limit and hasMore, every event exactly once',
  'pull filters by type and aggregate_id',
  'push is idempotent by event id and counts duplicates',
  'push of an empty batch stores nothing',
  'push rejects a different event under an existing id with event-id-conflict, storing nothing',
  'push rejects an invalid event with invalid-event, storing nothing from the batch',
  'latestVersion is zero while empty, then equals the last pulled version',
  'parseVersion round-trips versions and rejects garbage with version-parse',
  'epoch stays the same across calls',
  'push with ifEpoch stores only while the epoch matches',
  'events crossing the transport are copies',
  'JSON values and Unicode round-trip unchanged',
  'a pre-aborted signal rejects every call with aborted and stores nothing',
  'close makes every call reject with transport-closed',
  'subscribe delivers events pushed by a peer',
  'subscribe with since replays exactly the events after it, then live ones',
  'subscribe batches that tell their position (LiveBatchInfo) follow one another, in the epoch of pulls',
  'unsubscribe stops delivery',
  'aborting the subscribe signal stops delivery',
])

/** The cases that need the optional live `subscribe`. */
const SUBSCRIBE_CASES: ReadonlySet<string> = new Set(Object.keys(LIVE_CASES))

/** Every case, by name; each topic lives in a module of its own under `transport-cases/`. */
const CASES: CaseTable = {
  ...PUSH_PULL_CASES,
  ...VERSIONS_CASES,
  ...VALUES_CASES,
  ...LIFECYCLE_CASES,
  ...LIVE_CASES,
}

/**
 * Registers the transport conformance suite: runner-agnostic cases that check a {@link Transport}
 * against its contract (paged pull strictly after a version, idempotent push, conflicts and
 * invalid events rejected atomically, versions and epochs, copying, Unicode, abort, close, and
 * live subscribe with `since`, unsubscribe and abort). Each case gets a fresh remote from
 * `createTransport`.
 *
 * @param options - the transport factory, the runner's functions, skips; see
 * {@link TransportConformanceOptions}.
 * @throws SyncKitError `invalid-argument` for malformed options or an unknown case in `skip`.
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * import { createLoopbackHub } from 'sync-kit'
 * import { transportConformance } from 'sync-kit/testing'
 *
 * transportConformance({
 *   name: 'loopback',
 *   createTransport: async () => {
 *     const hub = createLoopbackHub()
 *     return { transport: hub.connect('a'), peer: hub.connect('b'), cleanup: () => hub.close() }
 *   },
 *   test: { describe, it: (name, fn) => it(name, fn), skip: (name, reason) => it.skip(`${name} (${reason})`, () => {}) },
 * })
 * ```
 */
export function transportConformance(options: TransportConformanceOptions): void {
  const suite = `transport conformance (${String(options?.name)})`
  checkOptions(suite, options)
  const skips = checkSkips(suite, TRANSPORT_CASES, options.skip)
  const timeoutMs = options.timeoutMs ?? 5000
  const hasSubscribe = options.subscribe ?? true
  const { test } = options

  test.describe(`transport conformance: ${options.name}`, () => {
    for (const name of TRANSPORT_CASES) {
      const body = CASES[name]
      if (body === undefined) throw new Error(`transport conformance: no body for case "${name}"`)
      const reason = skips[name]
      if (reason !== undefined) {
        test.skip(name, reason)
      } else if (!hasSubscribe && SUBSCRIBE_CASES.has(name)) {
        test.skip(name, 'the transport has no live subscribe (optional capability)')
      } else {
        test.it(name, () => runCase(options, timeoutMs, body))
      }
    }
  })
}

async function runCase(
  options: TransportConformanceOptions,
  timeoutMs: number,
  body: CaseBody,
): Promise<void> {
  const setup = await options.createTransport()
  if (typeof setup !== 'object' || setup === null || typeof setup.transport !== 'object') {
    fail('createTransport must resolve to { transport, peer?, cleanup? }')
  }
  const { transport, peer } = setup
  try {
    await body({ transport, pusher: peer ?? transport, peer, timeoutMs })
  } finally {
    await transport.close().catch(() => undefined)
    await peer?.close().catch(() => undefined)
    await setup.cleanup?.()
  }
}

function checkOptions(suite: string, options: TransportConformanceOptions): void {
  const bad = checkSuiteOptions(
    suite,
    options,
    'createTransport',
    'transport ({ transport, peer?, cleanup? })',
  )
  const { timeoutMs } = options
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw bad('timeoutMs', 'timeoutMs must be a positive number of ms')
  }
}
