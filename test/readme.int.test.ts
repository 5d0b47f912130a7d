import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// The README's quick start is what newcomers copy first: run it as written, against the built
// package (`npm test` builds before it runs the tests), so it never rots.
const root = resolve(import.meta.dirname, '..')
const dir = mkdtempSync(join(root, '.tmp-readme-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('README quick start', () => {
  it('Given the quick start as written, When it runs, Then the concurrent edit is detected and resolved', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const code = /## Quick start\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(code, 'README has a ```ts block under "## Quick start"').toBeDefined()
    const file = join(dir, 'quickstart.mts')
    writeFileSync(file, `${code}\nconsole.log(JSON.stringify(result))\n`)

    const out = execFileSync(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      encoding: 'utf8',
    })

    const lines = out.trim().split('\n')
    expect(lines[0]).toMatch(/^concurrent edits of todo-1: keep-(local|remote)$/)
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({
      pushed: 1,
      pulled: 1,
      conflicts: 1,
      resolved: 1,
    })
  })
})
