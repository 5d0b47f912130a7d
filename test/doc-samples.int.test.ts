import { describe, expect, it } from 'vitest'

import {
  allSamples,
  compileSamples,
  docFiles,
  parseJsonSamples,
  runSample,
  writeSamples,
} from './doc-samples.fixture.js'

// Every ```ts/```js block of README.md and docs/*.md (a new doc included as soon as it exists)
// compiles under the strict settings of tsconfig.json against the package's public entries, every
// ```json block parses, and the blocks marked <!-- run --> run, so the docs cannot drift from the
// code. How to mark a block: test/doc-samples.fixture.ts.
const { samples, problems } = allSamples()
const { written, problems: naming } = writeSamples(samples)

describe('the code samples of README.md and docs/*.md (issue 15 §2)', () => {
  it('finds the blocks of every doc, each marker well formed', () => {
    expect(docFiles()).toContain('README.md')
    expect(docFiles()).toContain('docs/getting-started.md')
    expect([...problems, ...naming]).toEqual([])
    expect(written.length).toBeGreaterThan(30)
  })

  it('compiles every ts/js block under the strict settings (fragments after their declared context)', () => {
    expect(compileSamples(written)).toEqual([])
  })

  it('parses every json block', () => {
    expect(parseJsonSamples(samples)).toEqual([])
  })

  // Each run is a node process of its own: they run side by side.
  for (const sample of written.filter((w) => w.sample.kind === 'run')) {
    it.concurrent(
      `runs ${sample.sample.doc}:${sample.sample.line} ("${sample.sample.section}")`,
      async () => {
        await runSample(sample)
      },
    )
  }
})

// A <!-- run: vitest --> block registers vitest tests of its own (writing-a-store.md's map store
// under the conformance suite): importing it runs them here, as a reader's `npx vitest` would.
for (const { sample, file } of written.filter((w) => w.sample.kind === 'vitest')) {
  const failure = await import(file).then(
    () => undefined,
    (error: unknown) => error,
  )
  if (failure !== undefined) {
    it(`imports the vitest sample ${sample.doc}:${sample.line}`, () => {
      throw new Error(
        `${sample.doc}:${sample.line}: the <!-- run: vitest --> sample failed to load`,
        {
          cause: failure,
        },
      )
    })
  }
}
