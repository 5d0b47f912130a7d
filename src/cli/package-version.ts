/**
 * Reads the sync-kit version from `package.json`, for `sync-kit --version` and the `listening`
 * record.
 *
 * @module
 */
import { readFileSync } from 'node:fs'

/**
 * The `version` field of sync-kit's `package.json`. The file is two levels up both from the
 * source (`src/cli/`) and from the build (`dist/cli/`).
 * @param packageJsonUrl - where package.json is.
 * @defaultValue packageJsonUrl `../../package.json` relative to this module
 * @returns the version, or `'unknown'` when the file cannot be read or has no version.
 * @example
 * ```ts
 * import { readPackageVersion } from './package-version.js'
 *
 * console.log(readPackageVersion()) // e.g. 0.1.0
 * ```
 */
export function readPackageVersion(
  packageJsonUrl: URL = new URL('../../package.json', import.meta.url),
): string {
  try {
    const parsed = JSON.parse(readFileSync(packageJsonUrl, 'utf8')) as { version?: unknown }
    return typeof parsed.version === 'string' && parsed.version !== '' ? parsed.version : 'unknown'
  } catch {
    return 'unknown'
  }
}
