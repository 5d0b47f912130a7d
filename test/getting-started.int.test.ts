import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

// The change API's sample in docs/getting-started.md ("React to changes"), run as written against
// the built package (`npm test` builds before it runs the tests), so it never rots.
const root = resolve(import.meta.dirname, '..')
const dir = mkdtempSync(join(root, '.tmp-getting-started-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('getting started: React to changes', () => {
  it('Given the sample as written, When it runs, Then it prints each change and the todo before and after the pull', () => {
    const guide = readFileSync(join(root, 'docs', 'getting-started.md'), 'utf8')
    const code = /### React to changes\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(guide)?.[1]
    expect(code, 'getting-started.md has a ```ts block under "### React to changes"').toBeDefined()
    const file = join(dir, 'changes.mts')
    writeFileSync(file, code ?? '')

    const out = execFileSync(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      encoding: 'utf8',
    })

    expect(out.trim().split('\n')).toEqual([
      'todo-1 is absent {}',
      '1 new event(s) for todo-1',
      "todo-1 is live { title: 'Milk' }",
      '1 new event(s) for todo-2',
    ])
  })
})
