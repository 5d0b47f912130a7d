// A Web Locks stand-in for Node tests (Node has no navigator.locks): exclusive locks by name,
// granted in request order, a request given up through its signal rejects with an AbortError,
// as LockManager.request does. Real Chromium runs the same code in tabs.browser.int.test.ts.
import type { WebLocks } from './tabs.js'

/** The fake, and what it holds. */
export interface FakeWebLocks extends WebLocks {
  /** Names of the locks held now. */
  held(): string[]
  /** How many requests wait for `name`. */
  waiting(name: string): number
}

/** @returns a fresh lock manager: one per "origin", shared by the tabs of a test. */
export function fakeWebLocks(): FakeWebLocks {
  const queues = new Map<string, (() => void)[]>()
  const holders = new Set<string>()
  const release = (name: string): void => {
    const next = queues.get(name)?.shift()
    if (next === undefined) holders.delete(name)
    else next()
  }
  return {
    held: () => [...holders],
    waiting: (name) => queues.get(name)?.length ?? 0,
    request<T>(
      name: string,
      options: { readonly signal?: AbortSignal },
      callback: (lock: unknown) => Promise<T>,
    ): Promise<T> {
      const { signal } = options
      if (signal?.aborted === true) return Promise.reject(abortError())
      return new Promise<T>((resolve, reject) => {
        const grant = (): void => {
          signal?.removeEventListener('abort', giveUp)
          holders.add(name)
          void callback({ name })
            .then(resolve, reject)
            .finally(() => release(name))
        }
        const giveUp = (): void => {
          const queue = queues.get(name) ?? []
          const at = queue.indexOf(grant)
          if (at < 0) return
          queue.splice(at, 1)
          reject(abortError())
        }
        if (!holders.has(name)) {
          grant()
          return
        }
        const queue = queues.get(name) ?? []
        queue.push(grant)
        queues.set(name, queue)
        signal?.addEventListener('abort', giveUp, { once: true })
      })
    },
  }
}

function abortError(): Error {
  const error = new Error('The request was aborted.')
  error.name = 'AbortError'
  return error
}
