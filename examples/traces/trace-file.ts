/**
 * Loading and validating editing traces: the gzipped JSON files of Joseph Gentle's editing-traces
 * data set (CC BY 4.0; see `examples/data/README.md`), in their sequential and concurrent kinds.
 *
 * @example
 * ```ts
 * import { DEFAULT_TRACE_PATH, loadTrace } from './traces/trace-file.js'
 *
 * const trace = await loadTrace(DEFAULT_TRACE_PATH)
 * console.log(trace.kind, trace.txns.length)
 * ```
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'

import { SyncKitError } from 'sync-kit'

/**
 * One edit: at code-point offset `pos`, delete `numDeleted` code points, then insert `inserted`
 * (`Array.prototype.splice` semantics on an array of Unicode code points).
 */
export type TracePatch = readonly [pos: number, numDeleted: number, inserted: string]

/** One transaction of a sequential trace: patches applied in order, one after the other. */
export interface SequentialTxn {
  /** When the edit was made (ISO 8601), when the trace records it. */
  readonly time?: string
  /** The patches, applied in order. */
  readonly patches: readonly TracePatch[]
}

/** A trace with a single history: apply every txn in order to `startContent` to get `endContent`. */
export interface SequentialTrace {
  /** Discriminant. Files of this kind carry no `kind` field (or `"sequential"`). */
  readonly kind: 'sequential'
  /** The document before the first txn. */
  readonly startContent: string
  /** The document after the last txn. */
  readonly endContent: string
  /** The txns, in order. */
  readonly txns: readonly SequentialTxn[]
}

/** One transaction of a concurrent trace: a node of the causal DAG. */
export interface ConcurrentTxn {
  /** Indexes of earlier txns this one directly follows; empty for a root. */
  readonly parents: readonly number[]
  /** The author, `0 … numAgents - 1`; one agent's txns are totally ordered. */
  readonly agent: number
  /** When the edit was made (ISO 8601), when the trace records it. */
  readonly time?: string
  /** How many txns name this one as a parent, when the trace records it. */
  readonly numChildren?: number
  /** The patches, in positions of the document as this txn's author saw it. */
  readonly patches: readonly TracePatch[]
}

/** A trace of several authors typing at once: a causal DAG of txns. */
export interface ConcurrentTrace {
  /** Discriminant, from the file's `kind` field. */
  readonly kind: 'concurrent'
  /** The merged document after every txn. */
  readonly endContent: string
  /** Number of authors. */
  readonly numAgents: number
  /** The txns; every parent index is smaller than the txn's own index. */
  readonly txns: readonly ConcurrentTxn[]
}

/** A parsed editing trace of either kind. */
export type Trace = SequentialTrace | ConcurrentTrace

/**
 * The trace `npm run demo` replays by default: `examples/data/sequential-automerge-paper.json.gz`,
 * resolved relative to this file (not the working directory), so the demo works from anywhere.
 */
export const DEFAULT_TRACE_PATH: string = fileURLToPath(
  new URL('../data/sequential-automerge-paper.json.gz', import.meta.url),
)

/**
 * Absolute path of a trace shipped in `examples/data/`.
 * @param name - the file name, e.g. `sequential-friendsforever_flat.json.gz`.
 * @returns the absolute path.
 * @example
 * ```ts
 * import { bundledTracePath, loadTrace } from './traces/trace-file.js'
 *
 * const trace = await loadTrace(bundledTracePath('sequential-seph-blog1.json.gz'))
 * ```
 */
export function bundledTracePath(name: string): string {
  return fileURLToPath(new URL(`../data/${name}`, import.meta.url))
}

const GZIP_MAGIC_0 = 0x1f
const GZIP_MAGIC_1 = 0x8b
const MAX_ERROR_VALUE_CHARS = 60

/**
 * Reads, decompresses (when gzipped), parses and validates a trace file.
 * @param path - the file; gzipped JSON (`.json.gz`) or plain JSON.
 * @returns the validated trace.
 * @throws SyncKitError `invalid-argument` (details `{ argument: 'trace' }`) when the file cannot be
 * read, is not valid gzip or JSON, or does not have the shape of an editing trace; the message
 * names the file and the offending field.
 * @example
 * ```ts
 * import { loadTrace } from './traces/trace-file.js'
 *
 * const trace = await loadTrace('examples/data/sequential-friendsforever_flat.json.gz')
 * ```
 */
export async function loadTrace(path: string): Promise<Trace> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw invalid(
      fileLabel(path),
      `cannot be read (${describe(error)}); check the --trace path`,
      error,
    )
  }
  let text: string
  if (bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1) {
    try {
      text = gunzipSync(bytes).toString('utf8')
    } catch (error) {
      throw invalid(
        fileLabel(path),
        `is not valid gzip (${describe(error)}); the file may be truncated`,
        error,
      )
    }
  } else {
    text = bytes.toString('utf8')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw invalid(fileLabel(path), `is not valid JSON (${describe(error)})`, error)
  }
  return parseTrace(json, path)
}

/**
 * Validates parsed JSON as an editing trace (see `examples/data/README.md` for the formats).
 *
 * A file without a `kind` field, or with `kind: "sequential"`, is sequential; `kind:
 * "concurrent"` is concurrent; any other kind is rejected.
 * @param json - the parsed file.
 * @param source - names the file in error messages.
 * @returns the trace, with `kind` set.
 * @throws SyncKitError `invalid-argument` (details `{ argument: 'trace' }`) naming the file and the
 * first field that is wrong.
 * @example
 * ```ts
 * import { parseTrace } from './traces/trace-file.js'
 *
 * const trace = parseTrace(
 *   { startContent: '', endContent: 'hi', txns: [{ patches: [[0, 0, 'hi']] }] },
 *   'inline',
 * )
 * ```
 */
export function parseTrace(json: unknown, source: string): Trace {
  const label = fileLabel(source)
  if (!isRecord(json)) {
    throw invalid(label, `must be a JSON object, got ${typeName(json)}`)
  }
  const kind = json['kind']
  if (kind === undefined || kind === 'sequential') return parseSequential(json, label)
  if (kind === 'concurrent') return parseConcurrent(json, label)
  throw invalid(
    label,
    `has unknown kind ${preview(kind)}; supported kinds are "sequential" (or no kind field) and "concurrent"`,
  )
}

/**
 * Checks that a value is a list of patches `[pos, numDeleted, inserted]`.
 * @param value - the value to check (e.g. an event's `data.patches`).
 * @param label - names what holds the patches in error messages, e.g. `event "e1"` or
 * `trace file "x.json.gz"`.
 * @param path - the field path, e.g. `txns[3].patches`.
 * @returns the value, typed.
 * @throws SyncKitError `invalid-argument` naming the holder, the field and what is wrong.
 * @example
 * ```ts
 * import { parsePatches } from './traces/trace-file.js'
 *
 * const patches = parsePatches([[0, 0, 'a']], 'event "e1"', 'data.patches')
 * ```
 */
export function parsePatches(value: unknown, label: string, path: string): readonly TracePatch[] {
  if (!Array.isArray(value)) {
    throw invalid(label, `${path} must be an array of patches, got ${typeName(value)}`)
  }
  for (let i = 0; i < value.length; i++) {
    const patch: unknown = value[i]
    if (!Array.isArray(patch) || patch.length !== 3) {
      throw invalid(
        label,
        `${path}[${i}] must be a patch [pos, numDeleted, inserted], got ${preview(patch)}`,
      )
    }
    const [pos, numDeleted, inserted] = patch as unknown[]
    if (!isCount(pos)) {
      throw invalid(
        label,
        `${path}[${i}][0] (pos) must be a non-negative integer, got ${preview(pos)}`,
      )
    }
    if (!isCount(numDeleted)) {
      throw invalid(
        label,
        `${path}[${i}][1] (numDeleted) must be a non-negative integer, got ${preview(numDeleted)}`,
      )
    }
    if (typeof inserted !== 'string') {
      throw invalid(label, `${path}[${i}][2] (inserted) must be a string, got ${preview(inserted)}`)
    }
  }
  return value as readonly TracePatch[]
}

function parseSequential(json: Record<string, unknown>, label: string): SequentialTrace {
  const startContent = requireString(json, 'startContent', label)
  const endContent = requireString(json, 'endContent', label)
  const txns = requireArray(json, 'txns', label)
  for (let i = 0; i < txns.length; i++) {
    const txn = requireTxn(txns[i], i, label)
    optionalTime(txn, i, label)
  }
  return {
    kind: 'sequential',
    startContent,
    endContent,
    txns: txns as readonly SequentialTxn[],
  }
}

function parseConcurrent(json: Record<string, unknown>, label: string): ConcurrentTrace {
  const endContent = requireString(json, 'endContent', label)
  const numAgents = json['numAgents']
  if (!isCount(numAgents) || numAgents === 0) {
    throw invalid(label, `numAgents must be a positive integer, got ${preview(numAgents)}`)
  }
  const txns = requireArray(json, 'txns', label)
  for (let i = 0; i < txns.length; i++) {
    const txn = requireTxn(txns[i], i, label)
    optionalTime(txn, i, label)
    const parents = txn['parents']
    if (!Array.isArray(parents)) {
      throw invalid(
        label,
        `txns[${i}].parents must be an array of txn indexes, got ${preview(parents)}`,
      )
    }
    for (let p = 0; p < parents.length; p++) {
      const parent: unknown = parents[p]
      if (!isCount(parent) || parent >= i) {
        throw invalid(
          label,
          `txns[${i}].parents[${p}] must be the index of an earlier txn (0 … ${i - 1}), got ${preview(parent)}`,
        )
      }
    }
    const agent = txn['agent']
    if (!isCount(agent) || agent >= numAgents) {
      throw invalid(
        label,
        `txns[${i}].agent must be an integer in 0 … ${numAgents - 1} (numAgents), got ${preview(agent)}`,
      )
    }
    const numChildren = txn['numChildren']
    if (numChildren !== undefined && !isCount(numChildren)) {
      throw invalid(
        label,
        `txns[${i}].numChildren must be a non-negative integer when present, got ${preview(numChildren)}`,
      )
    }
  }
  return { kind: 'concurrent', endContent, numAgents, txns: txns as readonly ConcurrentTxn[] }
}

function requireTxn(txn: unknown, index: number, label: string): Record<string, unknown> {
  if (!isRecord(txn)) {
    throw invalid(label, `txns[${index}] must be an object, got ${preview(txn)}`)
  }
  parsePatches(txn['patches'], label, `txns[${index}].patches`)
  return txn
}

/** The data set writes `time`; its README calls the field `timestamp`. Accept either. */
function optionalTime(txn: Record<string, unknown>, index: number, label: string): void {
  for (const key of ['time', 'timestamp']) {
    const value = txn[key]
    if (value !== undefined && typeof value !== 'string') {
      throw invalid(
        label,
        `txns[${index}].${key} must be a string when present, got ${preview(value)}`,
      )
    }
  }
}

function requireString(json: Record<string, unknown>, key: string, label: string): string {
  const value = json[key]
  if (typeof value !== 'string') {
    throw invalid(label, `${key} must be a string, got ${preview(value)}`)
  }
  return value
}

function requireArray(json: Record<string, unknown>, key: string, label: string): unknown[] {
  const value = json[key]
  if (!Array.isArray(value)) {
    throw invalid(label, `${key} must be an array, got ${typeName(value)}`)
  }
  return value
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : typeof value
}

function preview(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > MAX_ERROR_VALUE_CHARS ? `${text.slice(0, MAX_ERROR_VALUE_CHARS)}…` : text
}

function describe(error: unknown): string {
  // One line: JSON.parse quotes the offending input, newlines included.
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim()
}

function fileLabel(source: string): string {
  return `trace file "${source}"`
}

function invalid(
  label: string,
  problem: string,
  cause?: unknown,
): SyncKitError<'invalid-argument'> {
  return new SyncKitError(
    'invalid-argument',
    `[sync-kit] [trace-demo] ${label} ${problem}. Expected the editing-traces format described in examples/data/README.md.`,
    { argument: 'trace' },
    cause === undefined ? undefined : { cause },
  )
}
