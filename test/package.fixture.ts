import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

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
