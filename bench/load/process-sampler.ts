/**
 * Resident memory and CPU of running processes (the sync server, the load workers), sampled from
 * Linux's `/proc/<pid>/stat` (user + system CPU time, in clock ticks) and `/proc/<pid>/status`
 * (`VmRSS`, the resident set now, and `VmHWM`, its peak). On other systems every figure is `null`
 * with the reason.
 *
 * CPU is reported as a percentage of one core: 100 % is one core busy for the whole window, so on
 * a 2-core machine two busy processes can show 100 % each.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** One reading of one process. */
export interface ProcessReading {
  /** When it was taken, ms (`performance.now()` of this process). */
  readonly at: number
  /** User + system CPU time so far, ms. */
  readonly cpuMs: number
  /** Resident set size now, bytes. */
  readonly rssBytes: number
  /** Peak resident set size so far (`VmHWM`), bytes. */
  readonly hwmBytes: number
}

/** What the samples of a window say about a group of processes. */
export interface ResourceSummary {
  /** Number of sampling rounds in the window. */
  readonly samples: number
  /**
   * Peak resident set, MiB, summed over the group: the kernel's `VmHWM` (the peak since the
   * process started) at the window's end, or the largest sampled RSS when that is higher.
   */
  readonly rssPeakMiB: number | null
  /** Mean resident set over the window's samples, MiB, summed over the group. */
  readonly rssMeanMiB: number | null
  /** CPU time over the window / the window's wall time, % of one core, summed over the group. */
  readonly cpuPercentMean: number | null
  /** Busiest interval between two samples, % of one core, summed over the group. */
  readonly cpuPercentPeak: number | null
  /** Why the figures are `null`, when they are. */
  readonly unavailable?: string
}

/**
 * Parses the CPU time out of `/proc/<pid>/stat`.
 * @param stat - the file's text.
 * @param ticksPerSecond - `getconf CLK_TCK` (100 on Linux).
 * @returns user + system CPU time, ms.
 * @throws Error when the text is not a stat line.
 */
export function cpuMsFromStat(stat: string, ticksPerSecond: number): number {
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields 14 (utime) and 15 (stime) of proc(5); fields[0] here is field 3 (state).
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`[sync-kit] [load] not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`)
  }
  return ((utime + stime) * 1000) / ticksPerSecond
}

/**
 * Reads a `kB` field (`VmRSS`, `VmHWM`) of `/proc/<pid>/status`.
 * @param status - the file's text.
 * @param field - the field name.
 * @returns the value in bytes, or 0 when the field is absent (a zombie has none).
 */
export function kbField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  return match === null ? 0 : Number(match[1]) * 1024
}

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isSafeInteger(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
}

/** Samples a fixed set of processes on a timer and summarises windows of the samples. */
export class ProcessSampler {
  readonly #groups: ReadonlyMap<string, readonly number[]>
  readonly #ticks: number
  readonly #readings = new Map<number, ProcessReading[]>()
  #timer: ReturnType<typeof setInterval> | undefined
  #unavailable: string | undefined

  /**
   * @param groups - named groups of process ids, e.g. `{ server: [pid], clients: [w1, w2] }`.
   */
  constructor(groups: Readonly<Record<string, readonly number[]>>) {
    this.#groups = new Map(Object.entries(groups))
    this.#ticks = clockTicks()
    if (process.platform !== 'linux') this.#unavailable = `no /proc on ${process.platform}`
  }

  /**
   * Starts sampling (and takes a first reading now).
   * @param intervalMs - time between readings.
   */
  start(intervalMs: number): void {
    this.sample()
    this.#timer = setInterval(() => this.sample(), intervalMs)
    this.#timer.unref()
  }

  /** Stops sampling, after one last reading. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.sample()
  }

  /** Takes one reading of every process now. */
  sample(): void {
    if (this.#unavailable !== undefined) return
    const at = performance.now()
    for (const pids of this.#groups.values()) {
      for (const pid of pids) {
        try {
          const cpuMs = cpuMsFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), this.#ticks)
          const status = readFileSync(`/proc/${pid}/status`, 'utf8')
          const list = this.#readings.get(pid) ?? []
          list.push({
            at,
            cpuMs,
            rssBytes: kbField(status, 'VmRSS'),
            hwmBytes: kbField(status, 'VmHWM'),
          })
          this.#readings.set(pid, list)
        } catch {
          // The process has ended: its last reading stands.
        }
      }
    }
  }

  /**
   * Summarises one group over a window.
   * @param group - the group's name.
   * @param from - window start, `performance.now()` ms.
   * @param to - window end, `performance.now()` ms.
   * @returns peak and mean RSS, mean and peak CPU, summed over the group's processes.
   */
  summary(group: string, from: number, to: number): ResourceSummary {
    const pids = this.#groups.get(group) ?? []
    if (this.#unavailable !== undefined) return empty(this.#unavailable)
    let rssPeak = 0
    let rssMean = 0
    let cpuMean = 0
    const peaks = new Map<number, number>()
    let samples = 0
    for (const pid of pids) {
      const all = this.#readings.get(pid) ?? []
      const inWindow = all.filter((r) => r.at >= from && r.at <= to)
      if (inWindow.length === 0) continue
      samples = Math.max(samples, inWindow.length)
      rssPeak += Math.max(...inWindow.map((r) => Math.max(r.rssBytes, r.hwmBytes)))
      rssMean += inWindow.reduce((sum, r) => sum + r.rssBytes, 0) / inWindow.length
      const first = inWindow[0] as ProcessReading
      const last = inWindow.at(-1) as ProcessReading
      if (last.at > first.at) cpuMean += ((last.cpuMs - first.cpuMs) / (last.at - first.at)) * 100
      // Per interval between rounds (the same instants for every process of the group).
      for (let i = 1; i < inWindow.length; i++) {
        const a = inWindow[i - 1] as ProcessReading
        const b = inWindow[i] as ProcessReading
        if (b.at > a.at) {
          const key = Math.round(b.at)
          peaks.set(key, (peaks.get(key) ?? 0) + ((b.cpuMs - a.cpuMs) / (b.at - a.at)) * 100)
        }
      }
    }
    if (samples === 0) return empty('no readings in the window')
    const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10
    const pct = (value: number): number => Math.round(value * 10) / 10
    return {
      samples,
      rssPeakMiB: mib(rssPeak),
      rssMeanMiB: mib(rssMean),
      cpuPercentMean: pct(cpuMean),
      cpuPercentPeak: peaks.size === 0 ? null : pct(Math.max(...peaks.values())),
    }
  }
}

function empty(why: string): ResourceSummary {
  return {
    samples: 0,
    rssPeakMiB: null,
    rssMeanMiB: null,
    cpuPercentMean: null,
    cpuPercentPeak: null,
    unavailable: why,
  }
}
