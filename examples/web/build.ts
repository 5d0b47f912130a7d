/**
 * Builds the web todo app with esbuild: `main.ts` (the page, with sync-kit bundled in) to `app.js`,
 * `sw.ts` (the service worker that lets the page load offline) to `sw.js`, and `index.html`,
 * into one folder any static server can serve. Inside the sync-kit checkout, `sync-kit` resolves
 * to the source through tsconfig.json `paths`; in an app, to the installed package.
 *
 * Run alone: `node --import tsx examples/web/build.ts [outDir]` (default `examples/web/dist`).
 *
 * @example
 * ```ts
 * import { buildWebApp } from './build.js'
 *
 * const built = await buildWebApp({ outDir: '/tmp/todo-app' })
 * console.log(built.files) // [{ name: 'app.js', bytes: …, gzipBytes: … }, …]
 * ```
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'

import { build } from 'esbuild'

/** The folder of the app's sources. */
export const WEB_APP_DIR: string = fileURLToPath(new URL('.', import.meta.url))

/** Where `build.ts` run alone writes the app. */
export const DEFAULT_OUT_DIR: string = join(WEB_APP_DIR, 'dist')

/** Options of {@link buildWebApp}. */
export interface BuildWebAppOptions {
  /** The folder to write `index.html`, `app.js` and `sw.js` to (created when missing). */
  readonly outDir: string
  /** Minify the scripts. @defaultValue `true` */
  readonly minify?: boolean
}

/** One file of the build. */
export interface BuiltFile {
  /** Its name in the output folder. */
  readonly name: string
  /** Its size. */
  readonly bytes: number
  /** Its size gzipped at level 9, as a server would send it. */
  readonly gzipBytes: number
}

/** What {@link buildWebApp} wrote. */
export interface WebAppBuild {
  /** The output folder. */
  readonly outDir: string
  /** The files, `index.html`, `app.js`, `sw.js`. */
  readonly files: readonly BuiltFile[]
  /** The cache version the service worker got: a hash of the page's files. */
  readonly version: string
}

/**
 * The esbuild options of a browser script: one ESM bundle, for the browser (no Node built-ins),
 * ES2022, kept in memory. The tests' Chromium pages (`test/chromium.fixture.ts`) bundle with them
 * too.
 */
export const SCRIPT_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'silent',
} as const

/**
 * Builds the app.
 * @param options - the output folder and minification.
 * @returns the files written and the service worker's cache version.
 * @throws whatever esbuild throws for a source that does not compile, and file system errors.
 */
export async function buildWebApp(options: BuildWebAppOptions): Promise<WebAppBuild> {
  const minify = options.minify ?? true
  const page = await build({
    ...SCRIPT_OPTIONS,
    entryPoints: [join(WEB_APP_DIR, 'main.ts')],
    minify,
  })
  const app = page.outputFiles[0]?.contents ?? new Uint8Array()
  const html = await readFile(join(WEB_APP_DIR, 'index.html'))
  // A new build gets a new cache: the service worker of the old one is replaced, and with it
  // the cached page.
  const version = createHash('sha256').update(app).update(html).digest('hex').slice(0, 12)
  const worker = await build({
    ...SCRIPT_OPTIONS,
    entryPoints: [join(WEB_APP_DIR, 'sw.ts')],
    minify,
    define: { SW_CACHE_VERSION: JSON.stringify(version) },
  })
  const sw = worker.outputFiles[0]?.contents ?? new Uint8Array()
  await mkdir(options.outDir, { recursive: true })
  const files: [string, Uint8Array][] = [
    ['index.html', html],
    ['app.js', app],
    ['sw.js', sw],
  ]
  for (const [name, contents] of files) await writeFile(join(options.outDir, name), contents)
  return {
    outDir: options.outDir,
    version,
    files: files.map(([name, contents]) => ({
      name,
      bytes: contents.byteLength,
      gzipBytes: gzipSync(contents, { level: 9 }).byteLength,
    })),
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const built = await buildWebApp({ outDir: process.argv[2] ?? DEFAULT_OUT_DIR })
  for (const file of built.files) {
    console.log(`${built.outDir}/${file.name}: ${file.bytes} B, ${file.gzipBytes} B gzip`)
  }
}
