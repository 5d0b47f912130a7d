/**
 * `npm run bench`: measures sync-kit against the physical baseline and the peers a user would pick
 * instead, on the automerge-paper events, side by side in one process, and reports ratios.
 *
 * Usage: `node --expose-gc --import tsx bench/run.ts [--quick] [--only 1,3] [--out file.json]
 * [--chart file.svg]`. Prints the table to stdout (progress to stderr), writes the results as JSON
 * (default `bench/results.json`) and the scaling chart as SVG (default `bench/results.svg`).
 * `--quick` runs small logs with two samples: it checks that every benchmark runs, not how fast
 * (the smoke test in `npm test` runs it), and writes to the temp directory
 * (`sync-kit-bench-quick-results.json`, `…-results.svg`) unless `--out`/`--chart` say where.
 * Exits 1 when any benchmark failed.
 *
 * See docs/benchmarks.md for what each number means.
 *
 * @module
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'

import { renderChart } from './chart.js'
import { type BenchContext, type BenchPlan, FULL_PLAN, QUICK_PLAN } from './context.js'
import type { GroupResult } from './harness.js'
import { type TableRow, renderTable, tableRows } from './report.js'
import { runSizeSection, type SizeResult, sizeRows } from './sections/bundle-size.js'
import { runEndToEndSection } from './sections/end-to-end.js'
import { type HeapResult, heapRows, runHeapSection } from './sections/heap.js'
import { runMemorySection } from './sections/memory-store.js'
import { runPostgresSection } from './sections/postgres-store.js'
import { runScalingSection, type ScalingResult } from './sections/scaling.js'
import { runSqliteSection } from './sections/sqlite-store.js'
import { type TargetResult, evaluateTargets, renderTargets } from './targets.js'
import { loadBenchTrace } from './trace-events.js'

/** Everything one run measured: what `bench/results.json` holds. */
export interface BenchResults {
  /** The machine and the run. */
  readonly meta: RunMeta
  /** The table, as printed. */
  readonly table: readonly TableRow[]
  /** The targets of the issue and where sync-kit stands. */
  readonly targets: readonly TargetResult[]
  /** Sections 1–3 and 7: every measured operation with every contender's samples summary. */
  readonly groups: readonly GroupResult[]
  /** Section 4: time and memory per event against log size. */
  readonly scaling?: ScalingResult
  /** Section 5: heap bytes per stored event. */
  readonly heap?: HeapResult
  /** Section 6: min+gzip bytes of the entries. */
  readonly size?: SizeResult
  /** Benchmarks that failed (empty on a good run). */
  readonly failures: readonly string[]
}

/** The machine and the run. */
export interface RunMeta {
  /** `full` or `quick`. */
  readonly mode: BenchPlan['mode']
  /** ISO date of the start. */
  readonly date: string
  /** Wall time of the whole run, in seconds. */
  readonly seconds: number
  /** The commit benchmarked (with `+dirty` when the work tree had changes). */
  readonly commit: string
  /** Node and V8 versions. */
  readonly node: string
  /** V8 version. */
  readonly v8: string
  /** OS, kernel. */
  readonly os: string
  /** CPU model and logical cores. */
  readonly cpu: string
  /** Total memory, GiB. */
  readonly memoryGiB: number
  /** 1-minute load average at the start and the end: how busy the shared machine was. */
  readonly loadAverage: { readonly start: number; readonly end: number }
  /** Whether `--expose-gc` was on (the heap section and GC between samples need it). */
  readonly exposeGc: boolean
  /** Sections run. */
  readonly sections: readonly number[]
}

interface CliOptions {
  readonly quick: boolean
  readonly sections: readonly number[]
  readonly out: string
  readonly chart: string
}

const ALL_SECTIONS = [1, 2, 3, 4, 5, 6, 7] as const
/**
 * Sections that need a service of their own (7: a PostgreSQL server), left out of a `--quick` run
 * unless `--only` names them; the full run skips them, saying why, when the service is missing.
 */
const SERVICE_SECTIONS: readonly number[] = [7]
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const USAGE =
  'usage: node --expose-gc --import tsx bench/run.ts [--quick] [--only 1,2,…] [--out results.json] [--chart results.svg]'

function parseArgs(argv: readonly string[]): CliOptions {
  let quick = false
  let chosen = false
  let sections: readonly number[] = ALL_SECTIONS
  let out: string | undefined
  let chart: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = (): string => {
      const next = argv[++i]
      if (next === undefined) throw new Error(`[sync-kit] [bench] ${arg} needs a value; ${USAGE}`)
      return next
    }
    if (arg === '--quick') quick = true
    else if (arg === '--only') {
      chosen = true
      sections = value()
        .split(',')
        .map((s) => Number(s.trim()))
      if (sections.some((s) => !(ALL_SECTIONS as readonly number[]).includes(s))) {
        throw new Error(`[sync-kit] [bench] --only takes section numbers 1 to 7; ${USAGE}`)
      }
    } else if (arg === '--out') out = value()
    else if (arg === '--chart') chart = value()
    else throw new Error(`[sync-kit] [bench] unknown argument ${arg}; ${USAGE}`)
  }
  if (quick && !chosen) sections = sections.filter((s) => !SERVICE_SECTIONS.includes(s))
  // A quick run checks that everything runs; its figures mean nothing, so it never replaces the
  // committed full run unless told where to write.
  const dir = quick ? tmpdir() : BENCH_DIR
  const prefix = quick ? 'sync-kit-bench-quick-' : ''
  out ??= join(dir, `${prefix}results.json`)
  chart ??= join(dir, `${prefix}results.svg`)
  return { quick, sections, out, chart }
}

function gitCommit(): string {
  try {
    const cwd = join(BENCH_DIR, '..')
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' })
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      encoding: 'utf8',
    })
    return `${head.trim()}${dirty.trim() === '' ? '' : '+dirty'}`
  } catch {
    return 'unknown'
  }
}

/**
 * Runs the benchmarks.
 * @param argv - command-line arguments (without node and the script).
 * @returns the results (also written to `--out`).
 * @throws Error for a bad argument.
 * @example
 * ```ts
 * import { runBench } from './run.js'
 *
 * const results = await runBench(['--quick', '--only', '6'])
 * ```
 */
export async function runBench(argv: readonly string[]): Promise<BenchResults> {
  const options = parseArgs(argv)
  const plan = options.quick ? QUICK_PLAN : FULL_PLAN
  const started = performance.now()
  const date = new Date().toISOString()
  const loadStart = loadavg()[0] ?? 0
  const log = (line: string): void => {
    const at = ((performance.now() - started) / 1000).toFixed(1).padStart(6)
    process.stderr.write(`${at} s ${line}\n`)
  }
  const exposeGc = typeof (globalThis as { gc?: unknown }).gc === 'function'
  if (!exposeGc) {
    log('[bench] warning: run with node --expose-gc (npm run bench does): no GC between samples')
  }
  log(`[bench] ${plan.mode} run, sections ${options.sections.join(', ')}; loading the trace`)
  const trace = await loadBenchTrace()
  const tmpDir = await mkdtemp(join(tmpdir(), 'sync-kit-bench-'))
  const ctx: BenchContext = { plan, trace, tmpDir, log }
  const groups: GroupResult[] = []
  const failures: string[] = []
  const has = (section: number): boolean => options.sections.includes(section)
  let scaling: ScalingResult | undefined
  let heap: HeapResult | undefined
  let size: SizeResult | undefined
  const guard = async <T>(section: number, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run()
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
      failures.push(`section ${section}: ${message}`)
      log(`[bench] section ${section} FAILED: ${message}`)
      return undefined
    }
  }
  try {
    if (has(1)) groups.push(...((await guard(1, () => runMemorySection(ctx))) ?? []))
    if (has(2)) groups.push(...((await guard(2, () => runSqliteSection(ctx))) ?? []))
    if (has(3)) groups.push(...((await guard(3, () => runEndToEndSection(ctx))) ?? []))
    if (has(4)) scaling = await guard(4, () => runScalingSection(ctx))
    if (has(5)) heap = await guard(5, () => runHeapSection(ctx))
    if (has(6)) size = await guard(6, () => runSizeSection(ctx))
    if (has(7)) groups.push(...((await guard(7, () => runPostgresSection(ctx))) ?? []))
  } finally {
    await rm(tmpDir, { recursive: true, force: true })
  }
  for (const group of groups) {
    for (const result of [group.syncKit, ...group.others]) {
      if (result.error !== undefined) {
        failures.push(`${group.id} / ${result.name}: ${result.error}`)
      }
    }
  }
  if (scaling !== undefined) failures.push(...scaling.failures)

  const table = [
    ...tableRows(groups),
    ...(scaling === undefined ? [] : scaling.table),
    ...(heap === undefined ? [] : heapRows(heap)),
    ...(size === undefined ? [] : sizeRows(size)),
  ]
  const targets = evaluateTargets({ groups, scaling, size, heap })
  const cpuList = cpus()
  const meta: RunMeta = {
    mode: plan.mode,
    date,
    seconds: Math.round((performance.now() - started) / 1000),
    commit: gitCommit(),
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${release()}`,
    cpu: `${cpuList[0]?.model.trim() ?? 'unknown'} × ${cpuList.length}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: {
      start: Math.round(loadStart * 100) / 100,
      end: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    },
    exposeGc,
    sections: options.sections,
  }
  const results: BenchResults = {
    meta,
    table,
    targets,
    groups,
    ...(scaling === undefined ? {} : { scaling }),
    ...(heap === undefined ? {} : { heap }),
    ...(size === undefined ? {} : { size }),
    failures,
  }
  process.stdout.write(
    `sync-kit benchmarks (${plan.mode}) — ${meta.cpu}, Node ${meta.node}, load ${meta.loadAverage.start} → ${meta.loadAverage.end}, ${meta.seconds} s\n` +
      "ratio = the other's median time / sync-kit's (above 1: sync-kit is faster); ±: median absolute deviation\n\n" +
      `${renderTable(table)}\n\n${renderTargets(targets)}\n`,
  )
  await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`)
  if (scaling !== undefined) await writeFile(options.chart, renderChart(results))
  log(`[bench] wrote ${options.out}${scaling === undefined ? '' : ` and ${options.chart}`}`)
  if (failures.length > 0) {
    log(`[bench] ${failures.length} benchmark(s) FAILED:\n${failures.join('\n')}`)
  }
  return results
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runBench(process.argv.slice(2)).then(
    (results) => {
      process.exitCode = results.failures.length > 0 ? 1 : 0
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 2
    },
  )
}
