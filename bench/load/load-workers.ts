/**
 * The parent's side of the worker processes: forks them (`--import tsx`, IPC with the `advanced`
 * serialisation), sends them messages and waits for their answers by kind, with a deadline.
 *
 * @module
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import type { FromWorker, ToWorker } from './worker-protocol.js'

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url))

/** Heap limit of a worker: each holds tens of clients, each with its own copy of every event. */
const WORKER_HEAP_MIB = 6_144

/**
 * Young-generation semi-space of a worker, MiB. A worker holds dozens of simulated devices in one
 * heap, each allocating as a whole device does; V8's default young generation (16 MiB semi-spaces)
 * is sized for one app, and under dozens of them it scavenges several times as often and promotes
 * short-lived objects to the old generation, charging the simulation GC work no single device
 * does. 64 MiB lets the worker behave more like the devices it stands for.
 */
const WORKER_SEMI_SPACE_MIB = 64

type Answer<TKind extends FromWorker['kind']> = Extract<FromWorker, { kind: TKind }>

/** One forked worker. */
export class WorkerHandle {
  readonly #child: ChildProcess
  readonly #inbox: FromWorker[] = []
  readonly #waiters = new Set<() => void>()
  #failure: Error | undefined

  /**
   * @param index - the worker's number, for messages.
   * @param profileDir - when set, the worker runs under `--cpu-prof` and writes its profile there
   * when it exits.
   */
  constructor(
    readonly index: number,
    profileDir?: string,
  ) {
    const profile = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]
    this.#child = fork(WORKER, [], {
      execArgv: [
        '--import',
        'tsx',
        `--max-old-space-size=${WORKER_HEAP_MIB}`,
        `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`,
        ...profile,
      ],
      serialization: 'advanced',
      // A worker's stdout goes to our stderr: our stdout is the JSON report.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    })
    this.#child.stdout?.pipe(process.stderr)
    this.#child.on('message', (message: FromWorker) => {
      if (message.kind === 'failed') this.#fail(new Error(`worker ${index}: ${message.message}`))
      else this.#inbox.push(message)
      this.#wake()
    })
    this.#child.on('exit', (code, signal) => {
      this.#fail(
        new Error(`worker ${index} exited (code ${String(code)}, signal ${String(signal)})`),
      )
    })
  }

  /** The worker's process id. */
  get pid(): number {
    return this.#child.pid ?? -1
  }

  /**
   * Sends a message.
   * @param message - the message.
   */
  send(message: ToWorker): void {
    this.#child.send(message)
  }

  /**
   * Waits for the next answer of a kind.
   * @param kind - the kind.
   * @param timeoutMs - the deadline; `Infinity` waits until the answer comes or the worker ends.
   * @returns the answer.
   * @throws Error when the worker failed or exited, or the deadline passed.
   */
  async next<TKind extends FromWorker['kind']>(
    kind: TKind,
    timeoutMs: number,
  ): Promise<Answer<TKind>> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const at = this.#inbox.findIndex((message) => message.kind === kind)
      if (at >= 0) return this.#inbox.splice(at, 1)[0] as Answer<TKind>
      if (this.#failure !== undefined) throw this.#failure
      const left = deadline - performance.now()
      if (left <= 0)
        throw new TimeoutError(`worker ${this.index}: no "${kind}" within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer)
          this.#waiters.delete(wake)
          resolve()
        }
        // No timer for an endless wait (Node would turn Infinity into 1 ms).
        const timer = Number.isFinite(left) ? setTimeout(wake, left) : undefined
        this.#waiters.add(wake)
      })
    }
  }

  /** Ends the worker (it exits when its IPC channel closes) and waits for it. */
  async end(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.disconnect()
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }

  #fail(error: Error): void {
    this.#failure ??= error
    this.#wake()
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake()
  }
}

/** A deadline passed (the caller decides whether that is a failed check or a broken run). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError'
}
