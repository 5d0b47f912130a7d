import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

/** Test-only: the package as an app installs it, for the packaging tests in `test/`. */

/** The repository root, which is the package (its `dist/` comes from `npm run build`). */
export const root: string = resolve(import.meta.dirname, '..')

/** What the packaging tests read from package.json. */
export interface PackageJson {
  readonly exports: Record<string, unknown>
  readonly bin?: Record<string, string>
}

/** The parsed package.json. */
export const pkg: PackageJson = JSON.parse(
  readFileSync(join(root, 'package.json'), 'utf8'),
) as PackageJson

/** The conditions of one `exports` entry: `import`/`require` → `types`/`default` → file. */
export type Conditions = Record<string, Record<string, string>>

/**
 * The `exports` entries with their conditions, `./package.json` aside.
 * @returns `[subpath, conditions]` pairs in package.json order.
 */
export function subpaths(): [string, Conditions][] {
  return Object.entries(pkg.exports).filter(([key]) => key !== './package.json') as [
    string,
    Conditions,
  ][]
}

/**
 * The bare specifier an app imports a subpath by.
 * @param key - an `exports` key, e.g. `.` or `./http`.
 * @returns e.g. `sync-kit` or `sync-kit/http`.
 */
export function specifier(key: string): string {
  return key === '.' ? 'sync-kit' : `sync-kit/${key.slice(2)}`
}

/**
 * A temporary project that has this package installed (`node_modules/sync-kit` links to it).
 * @param prefix - names the temporary directory.
 * @returns the directory, and `remove` to delete it.
 */
export function linkedProject(prefix: string): { readonly dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  mkdirSync(join(dir, 'node_modules'), { recursive: true })
  symlinkSync(root, join(dir, 'node_modules', 'sync-kit'), 'dir')
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** An app's folder outside the checkout with the packed package installed in its `node_modules`. */
export interface PackedProject {
  /** The folder (under the system's temporary directory). */
  readonly dir: string
  /** The tarball `npm pack` made, inside `dir`. */
  readonly tarball: string
  /** Deletes the folder. */
  remove(): void
}

/**
 * Packs this package as `npm pack` publishes it (the `dist/` of the last build: `npm test` builds
 * first; pack scripts are skipped so nothing rebuilds it) and installs the tarball in a new folder
 * outside the checkout, as npm lays it out: `node_modules/sync-kit` holds the tarball's files, and
 * its `dependencies` and the packages in `links` are linked from this checkout's `node_modules`
 * (installed already, so no registry is asked and the copy takes a second).
 * @param prefix - names the temporary folder.
 * @param links - the app's own dependencies and tools, e.g. `['tsx', 'vitest', '@types/node']`.
 * @returns the folder, the tarball and `remove`.
 * @throws Error when `dist/` is missing (run `npm run build`) or npm or tar fail.
 */
export function packedProject(prefix: string, links: readonly string[] = []): PackedProject {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    throw new Error(
      `${join(root, 'dist')} is missing: run npm run build before the packaging tests`,
    )
  }
  const dir = mkdtempSync(join(tmpdir(), prefix))
  try {
    const packed = execFileSync(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const [{ filename }] = JSON.parse(packed) as [{ filename: string }]
    const tarball = join(dir, filename)
    const installed = join(dir, 'node_modules', 'sync-kit')
    mkdirSync(installed, { recursive: true })
    execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'])
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>
    }
    for (const name of [...Object.keys(manifest.dependencies ?? {}), ...links]) {
      const target = join(dir, 'node_modules', name)
      mkdirSync(dirname(target), { recursive: true })
      symlinkSync(join(root, 'node_modules', name), target, 'dir')
    }
    return { dir, tarball, remove: () => rmSync(dir, { recursive: true, force: true }) }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/**
 * Bundles an app of `sync-kit` like an app's bundler does: its only file in a project with this
 * package installed, esbuild with minification for browser ESM.
 * @param source - the app's only file.
 * @returns the minified bundle.
 */
export async function bundleApp(source: string): Promise<Uint8Array> {
  const project = linkedProject('sync-kit-app-')
  try {
    writeFileSync(join(project.dir, 'app.js'), source)
    const result = await build({
      entryPoints: ['app.js'],
      absWorkingDir: project.dir,
      bundle: true,
      minify: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      logLevel: 'silent',
    })
    return result.outputFiles[0]?.contents ?? new Uint8Array()
  } finally {
    project.remove()
  }
}
