/**
 * A tiny static server for the built todo app (node:http): serves the files of one folder and
 * writes the sync server's URL into `index.html`, where the page reads it. It is the page's own
 * origin; the sync server is another one (its `--cors` names this one).
 *
 * @example
 * ```ts
 * import { startPageServer } from './page-server.js'
 *
 * const page = await startPageServer({ dir: 'examples/web/dist', syncUrl: () => 'http://127.0.0.1:8787' })
 * console.log(page.url) // http://127.0.0.1:40123/
 * await page.close()
 * ```
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join } from 'node:path'

/** The placeholder in `index.html` that becomes the sync server's URL. */
export const SYNC_URL_PLACEHOLDER = '%SYNC_SERVER_URL%'

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
}

/** Options of {@link startPageServer}. */
export interface PageServerOptions {
  /** The folder of the built app (`buildWebApp`'s `outDir`). */
  readonly dir: string
  /** The sync server's URL, asked for each time `index.html` is served. */
  readonly syncUrl: () => string
  /** The port; `0` picks a free one. @defaultValue `0` */
  readonly port?: number
  /** The interface to listen on. @defaultValue `'127.0.0.1'` */
  readonly host?: string
}

/** A running page server. */
export interface PageServer {
  /** `http://<host>:<port>/`. */
  readonly url: string
  /** Its origin, `http://<host>:<port>`: what the sync server's `--cors` must allow. */
  readonly origin: string
  /** Stops listening and closes every connection. */
  close(): Promise<void>
}

/**
 * Starts serving the app.
 * @param options - folder, sync URL, port and host.
 * @returns the running server.
 * @throws the `listen` error (e.g. `EADDRINUSE`) when the port cannot be had.
 */
export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const host = options.host ?? '127.0.0.1'
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://page').pathname
    const name = path === '/' ? 'index.html' : path.slice(1)
    // Only the app's own files, by exact name: no folders, no way out of `dir`.
    if (request.method !== 'GET' || !/^[a-z]+\.(html|js)$/.test(name)) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found')
      return
    }
    readFile(join(options.dir, name)).then(
      (contents) => {
        const body =
          name === 'index.html'
            ? contents
                .toString('utf8')
                .replaceAll(SYNC_URL_PLACEHOLDER, escapeHtml(options.syncUrl()))
            : contents
        response.writeHead(200, {
          'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
          // The service worker asks the network first; no HTTP cache in between.
          'cache-control': 'no-cache',
        })
        response.end(body)
      },
      () =>
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found'),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://${host}:${port}`
  return {
    url: `${origin}/`,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
