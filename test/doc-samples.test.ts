import { rmSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'

import {
  SAMPLES_DIR,
  compileSamples,
  extractSamples,
  parseJsonSamples,
  writeSamples,
} from './doc-samples.fixture.js'

// The doc-sample checker itself (test/doc-samples.int.test.ts runs it on the real docs): which
// blocks it takes and how, and that a failure names the doc's line, not the extracted file's.
const DIR = `${SAMPLES_DIR}-unit`
afterAll(() => rmSync(DIR, { recursive: true, force: true }))

const DOC = [
  '# Title', //                                                    1
  '', //                                                           2
  '```ts', //                                                      3
  "const ok: string = 'yes'", //                                   4
  'const bad: number = missing', //                                5
  '```', //                                                        6
  '', //                                                           7
  '## Fragments', //                                               8
  '', //                                                           9
  '<!-- fragment: `manager` is a Manager', //                     10
  'interface Manager { start(): void }', //                       11
  'declare const manager: Manager', //                            12
  'declare const broken: Unknown', //                             13
  '-->', //                                                       14
  '', //                                                          15
  '```ts', //                                                     16
  'manager.start()', //                                           17
  'manager.nothing()', //                                         18
  '```', //                                                       19
  '', //                                                          20
  '<!-- run -->', //                                              21
  '', //                                                          22
  '```js', //                                                     23
  'console.log(1)', //                                            24
  '```', //                                                       25
  '', //                                                          26
  '```sh', //                                                     27
  'npm test', //                                                  28
  '```', //                                                       29
  '', //                                                          30
  '```json', //                                                   31
  '{ "a": 1, }', //                                               32
  '```', //                                                       33
  '', //                                                          34
  '<!-- run: vitest -->', //                                      35
  '```ts', //                                                     36
  '// suite.test.ts', //                                          37
  "import { it } from 'vitest'", //                               38
  '```', //                                                       39
].join('\n')

describe('the doc-sample checker', () => {
  const { samples, problems } = extractSamples('docs/fake.md', DOC)

  it('takes every ts/js/json block with its kind, line and section, and no other block', () => {
    expect(problems).toEqual([])
    expect(samples.map(({ line, kind, lang, section }) => ({ line, kind, lang, section }))).toEqual(
      [
        { line: 3, kind: 'program', lang: 'ts', section: 'Title #1' },
        { line: 16, kind: 'fragment', lang: 'ts', section: 'Fragments #1' },
        { line: 23, kind: 'run', lang: 'js', section: 'Fragments #2' },
        { line: 31, kind: 'json', lang: 'json', section: 'Fragments' },
        { line: 36, kind: 'vitest', lang: 'ts', section: 'Fragments #3' },
      ],
    )
    expect(samples[1]).toMatchObject({ needs: '`manager` is a Manager', contextLine: 11 })
  })

  it('reports a compile error by the line of the doc, in a block and in a fragment context', () => {
    const { written, problems: naming } = writeSamples(samples, DIR)
    expect(naming).toEqual([])
    expect(written.map((w) => w.file.slice(DIR.length))).toEqual([
      '/docs-fake/L3.ts',
      '/docs-fake/L16.ts',
      '/docs-fake/L23.mjs',
      '/docs-fake/suite.test.ts',
    ])
    expect(compileSamples(written)).toEqual([
      "docs/fake.md:5: TS2304 Cannot find name 'missing'.",
      "docs/fake.md:13: TS2304 Cannot find name 'Unknown'.",
      "docs/fake.md:18: TS2339 Property 'nothing' does not exist on type 'Manager'.",
    ])
  })

  it('reports a json block that does not parse, or a tsconfig TypeScript refuses, by its fence line', () => {
    expect(parseJsonSamples(samples)).toEqual([
      expect.stringMatching(/^docs\/fake\.md:31: the json block does not parse: SyntaxError/),
    ])
    const tsconfig = (compilerOptions: object) =>
      extractSamples(
        'docs/ts.md',
        ['```json', JSON.stringify({ compilerOptions }), '```'].join('\n'),
      ).samples
    expect(parseJsonSamples(tsconfig({ module: 'nodenext', strict: true }))).toEqual([])
    expect(parseJsonSamples(tsconfig({ module: 'commonjs', moduleResolution: 'node16' }))).toEqual([
      "docs/ts.md:1: tsconfig TS5110 Option 'module' must be set to 'Node16' when option 'moduleResolution' is set to 'Node16'.",
    ])
    expect(parseJsonSamples(tsconfig({ modul: 'nodenext' }))).toEqual([
      expect.stringMatching(/^docs\/ts\.md:1: tsconfig TS5025 Unknown compiler option 'modul'/),
    ])
  })

  it('refuses markers that would silently skip or mislead, an open fence and a reused file name', () => {
    const bad = [
      '<!-- fragment:',
      'declare const x: number',
      '-->',
      '```ts',
      'x',
      '```',
      '<!-- run -->',
      '```sh',
      'ls',
      '```',
      '<!-- run now -->',
      '```ts',
      '// same.ts',
      '```',
      '```ts',
      '// same.ts',
      '```',
      '```ts',
      'never closed',
    ].join('\n')
    const found = extractSamples('docs/bad.md', bad)
    expect(found.problems).toEqual([
      'docs/bad.md:1: a fragment says what it needs: <!-- fragment: …',
      'docs/bad.md:7: a run marker stands before a non-ts/js block',
      'docs/bad.md:11: write the run marker as <!-- run --> or <!-- run: vitest -->',
      'docs/bad.md:18: the code block is never closed',
    ])
    expect(writeSamples(found.samples, DIR).problems).toEqual([
      'docs/bad.md:15: a second sample named same.ts',
    ])
  })
})
