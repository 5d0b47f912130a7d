// A conformance suite registered inside a browser page (bundled with esbuild, see
// chromium.fixture.ts): a runner-agnostic `test` API that records the cases, and `run(name)`,
// which the Node side calls case by case through `page.evaluate`, so each case is one vitest test.

/** The outcome of one case, as the page reports it. */
export interface PageCaseResult {
  readonly status: 'passed' | 'failed' | 'skipped'
  /** The failure (message and stack) or the skip reason. */
  readonly message?: string
  /** How long the case took, in milliseconds. */
  readonly ms: number
}

/** The recorded suite. */
export interface PageSuite {
  /** The `test` option of a conformance suite. */
  readonly test: {
    describe(name: string, fn: () => void): void
    it(name: string, fn: () => Promise<void>): void
    skip(name: string, reason: string): void
  }
  /** The suite's describe name. */
  readonly suite: string
  /** Every registered case, with its skip reason when skipped. */
  readonly cases: readonly { readonly name: string; readonly skip?: string }[]
  /** Runs one case, at most `timeoutMs`. */
  run(name: string): Promise<PageCaseResult>
}

/**
 * Records the cases a conformance suite registers, to run them one at a time.
 * @param timeoutMs - longest a case may run before it fails as timed out.
 * @returns the suite: pass its `test` to the conformance suite.
 */
export function createPageSuite(timeoutMs: number): PageSuite {
  const bodies = new Map<string, () => Promise<void>>()
  const cases: { name: string; skip?: string }[] = []
  let suite = ''
  return {
    test: {
      describe: (name, fn) => {
        suite = name
        fn()
      },
      it: (name, fn) => {
        cases.push({ name })
        bodies.set(name, fn)
      },
      skip: (name, reason) => {
        cases.push({ name, skip: reason })
      },
    },
    get suite() {
      return suite
    },
    cases,
    async run(name) {
      const started = performance.now()
      const ms = (): number => Math.round(performance.now() - started)
      const skipped = cases.find((c) => c.name === name)?.skip
      if (skipped !== undefined) return { status: 'skipped', message: skipped, ms: 0 }
      const body = bodies.get(name)
      if (body === undefined) return { status: 'failed', message: `no case named "${name}"`, ms: 0 }
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`timed out after ${timeoutMs} ms`))
        }, timeoutMs)
      })
      try {
        await Promise.race([body(), timeout])
        return { status: 'passed', ms: ms() }
      } catch (error) {
        const message =
          error instanceof Error
            ? `${error.name}: ${error.message}\n${error.stack ?? ''}`
            : String(error)
        return { status: 'failed', message, ms: ms() }
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
