/**
 * The todo app's service worker: it keeps the page's own files (`index.html`, `app.js`) in a cache
 * so that the page also loads while the device is offline — the events themselves are in
 * IndexedDB, not here. Network first, cache when the network fails, so a new build is picked up
 * whenever the server is reachable. It only answers GET requests for the page's own origin:
 * requests to the sync server go to the network untouched, so being offline shows in the app's
 * sync state.
 *
 * @module
 */

// A module (its names are its own, not globals of every file of the program).
export {}

/** The cache version, set by build.ts (a hash of the page's files). */
declare const SW_CACHE_VERSION: string

/** The parts of the service worker scope used here (the DOM library does not declare them). */
interface WorkerScope {
  readonly location: Location
  readonly clients: { claim(): Promise<void> }
  skipWaiting(): Promise<void>
  addEventListener(type: 'install' | 'activate', listener: (event: WaitEvent) => void): void
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void
}

interface WaitEvent {
  waitUntil(promise: Promise<unknown>): void
}

interface FetchEvent extends WaitEvent {
  readonly request: Request
  respondWith(response: Promise<Response>): void
}

const scope = globalThis as unknown as WorkerScope
const CACHE = `sync-kit-todo-${SW_CACHE_VERSION}`
const PAGE_FILES = ['./', './app.js']

scope.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PAGE_FILES))
      .then(() => scope.skipWaiting()),
  )
})

scope.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => scope.clients.claim()),
  )
})

scope.addEventListener('fetch', (event) => {
  const { request } = event
  if (request.method !== 'GET' || new URL(request.url).origin !== scope.location.origin) return
  event.respondWith(
    fetch(request)
      .then(async (response) => {
        if (response.ok) await (await caches.open(CACHE)).put(request, response.clone())
        return response
      })
      .catch(async () => {
        const cached = await caches.match(request, { ignoreSearch: true, cacheName: CACHE })
        return cached ?? Response.error()
      }),
  )
})
