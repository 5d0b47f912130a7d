import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { entries } from '../tsup.config.js'
import { linkedProject, pkg, root, specifier, subpaths } from './package.fixture.js'

// Inside the checkout, `sync-kit` and `sync-kit/*` resolve to the source through tsconfig.json
// `paths` (tsc and tsx read them; vitest.config.ts turns on `resolve.tsconfigPaths`), so the
// examples and the doc samples import the package by name and need no build.

interface TsConfig {
  readonly compilerOptions: { readonly paths?: Record<string, readonly string[]> }
}

/** The source file of an `exports` entry, through the tsup entry that builds its file. */
function sourceOf(conditions: Record<string, Record<string, string>>): string {
  const built = (conditions['import']?.['default'] ?? '').replace(/^\.\/dist\//, '')
  return `./${entries[built.replace(/\.js$/, '')] ?? `(no tsup entry builds ${built})`}`
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  )
}

describe('the package by name inside the checkout (issue 15 §4)', () => {
  it('maps every exports entry, and nothing else, to its source in tsconfig.json paths', () => {
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as TsConfig
    const expected = Object.fromEntries(
      subpaths().map(([key, conditions]) => [specifier(key), [sourceOf(conditions)]]),
    )
    expect(tsconfig.compilerOptions.paths).toEqual(expected)
  })

  it('the examples import sync-kit by its published names, never its source', () => {
    const offenders = filesUnder(join(root, 'examples'))
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/\bfrom\s+'([^']+)'|import\('([^']+)'\)/g)]
          .map((match) => match[1] ?? match[2] ?? '')
          .filter((path) => /(^|\/)(src|dist)\//.test(path) || path.startsWith('../../'))
          .map((path) => `${relative(root, file)}: ${path}`),
      )
    expect(offenders).toEqual([])
  })
})

// TypeScript's node10 resolution (`moduleResolution: "node"`, the default of `module: "commonjs"`)
// ignores `exports`; `typesVersions` maps each subpath to its CommonJS declarations for it.
describe('the subpaths under node10 resolution (typesVersions)', () => {
  it('maps every subpath but the root to the declarations its require condition names', () => {
    const typesVersions = (pkg as { typesVersions?: Record<string, unknown> }).typesVersions
    const expected = Object.fromEntries(
      subpaths()
        .filter(([key]) => key !== '.')
        .map(([key, conditions]) => [key.slice(2), [conditions['require']?.['types']]]),
    )
    expect(typesVersions).toEqual({ '*': expected })
  })

  describe('published declarations compile under module commonjs, moduleResolution node10', () => {
    const project = linkedProject('sync-kit-node10-')
    afterAll(() => project.remove())

    it('from a CommonJS project that imports every entry', () => {
      const dir = project.dir
      symlinkSync(join(root, 'node_modules', '@types'), join(dir, 'node_modules', '@types'), 'dir')
      const body = subpaths()
        .map(
          ([key], i) =>
            `import type * as m${i} from '${specifier(key)}'\nexport type T${i} = typeof m${i}`,
        )
        .join('\n')
      writeFileSync(join(dir, 'app.ts'), `${body}\n`)
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'commonjs',
            moduleResolution: 'node10',
            target: 'es2022',
            strict: true,
            noEmit: true,
            types: ['node'],
          },
          files: ['app.ts'],
        }),
      )
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
      let output = ''
      try {
        execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' })
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? error)
      }
      expect(output).toBe('')
    })
  })
})
