// The `sync-kit` executable (dist/cli/main.js, built by `npm test` before vitest) loads in an app
// that installed sync-kit alone: its static imports are Node's built-ins and sync-kit's own
// dependencies, never an optional peer (`ws` was one, and `sync-kit serve` failed to load where
// it was not installed). better-sqlite3 and pg are imported on demand, with a message naming
// their install command when missing.
import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { root } from './package.fixture.js'

describe('the built sync-kit executable', () => {
  it('Given dist/cli/main.js, When its static imports are listed, Then each is a Node built-in or a dependency of sync-kit', () => {
    const code = readFileSync(join(root, 'dist/cli/main.js'), 'utf8')
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>
    }
    const allowed = new Set([
      ...builtinModules,
      ...builtinModules.map((name) => `node:${name}`),
      ...Object.keys(pkg.dependencies ?? {}),
    ])
    const imported = [...code.matchAll(/^import\s[^'"]*?from\s*['"]([^'"]+)['"]/gm)].map(
      (match) => match[1] as string,
    )
    expect(imported.length).toBeGreaterThan(0)
    const packageOf = (specifier: string): string =>
      specifier.startsWith('@')
        ? specifier.split('/').slice(0, 2).join('/')
        : (specifier.split('/')[0] as string)
    expect(imported.filter((specifier) => !allowed.has(packageOf(specifier)))).toEqual([])
  })
})
