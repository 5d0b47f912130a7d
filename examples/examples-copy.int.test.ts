import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { packedProject, root, type PackedProject } from '../test/package.fixture.js'

// The examples are offered as code to copy into an app: they import sync-kit by its published
// names only. This test copies them into an app folder outside the checkout, with the packed
// tarball installed, and runs them there, so a relative import into the checkout (or a name the
// package does not export) fails here. `npm test` builds dist/ before the tests run.

const run = promisify(execFile)
/** Each command in the copy gets this long: a loaded 2-core machine is slow, a hang is not. */
const COMMAND_TIMEOUT_MS = 90_000
const SMALL_TRACE = 'sequential-friendsforever_flat.json.gz'

/** What an app that runs these examples installs next to sync-kit. */
const APP_PACKAGES = [
  'tsx',
  'vitest',
  'typescript',
  'ws',
  'better-sqlite3',
  '@types/node',
  '@types/ws',
  '@types/better-sqlite3',
]

/** The environment of the commands in the copy: this process's, less what vitest set for itself. */
const APP_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VITEST|NODE_OPTIONS$|TSX)/.test(name)),
)

/** The examples an app would copy: their code and the app-sync tests, not the repo's own tests. */
function copyExamples(to: string): void {
  for (const folder of ['', 'traces']) {
    mkdirSync(join(to, 'examples', folder), { recursive: true })
    for (const name of readdirSync(join(root, 'examples', folder))) {
      const isCode = name.endsWith('.ts') && !/\.(test|fixture)\.ts$/.test(name)
      if (isCode || name === 'app-sync.test.ts') {
        copyFileSync(join(root, 'examples', folder, name), join(to, 'examples', folder, name))
      }
    }
  }
  mkdirSync(join(to, 'examples', 'data'))
  copyFileSync(
    join(root, 'examples', 'data', SMALL_TRACE),
    join(to, 'examples', 'data', SMALL_TRACE),
  )
  // 120 keystrokes, for the run through a real server process (its start dominates).
  const text = 'an app copied the sync-kit examples and ran them on the package it installed. '
  const typed = text.repeat(2).slice(0, 120)
  writeFileSync(
    join(to, 'examples', 'data', 'typing.json'),
    JSON.stringify({
      startContent: '',
      endContent: typed,
      txns: Array.from(typed, (char, i) => ({ patches: [[i, 0, char]] })),
    }),
  )
}

describe('the examples, copied into an app outside the checkout (issue 15 §4)', () => {
  let project: PackedProject
  beforeAll(() => {
    project = packedProject('sync-kit-examples-', APP_PACKAGES)
    writeFileSync(
      join(project.dir, 'package.json'),
      JSON.stringify({ name: 'an-app', private: true, type: 'module' }),
    )
    copyExamples(project.dir)
  })
  afterAll(() => project.remove())

  const inCopy = (program: string, args: readonly string[]) =>
    run(program, args, {
      cwd: project.dir,
      encoding: 'utf8',
      timeout: COMMAND_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
      env: APP_ENV,
    })

  it('Given the copy, When tsc checks it under nodenext against the installed types, Then it compiles', async () => {
    writeFileSync(
      join(project.dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          verbatimModuleSyntax: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['examples'],
      }),
    )
    const tsc = join(project.dir, 'node_modules', 'typescript', 'bin', 'tsc')
    await expect(inCopy(process.execPath, [tsc, '-p', '.'])).resolves.toMatchObject({ stdout: '' })
  })

  it('Given the copied app-sync tests, When vitest runs them there, Then they pass', async () => {
    const vitest = join(project.dir, 'node_modules', 'vitest', 'vitest.mjs')
    const { stdout } = await inCopy(process.execPath, [
      vitest,
      'run',
      'examples/app-sync.test.ts',
      '--root',
      project.dir,
      '--reporter',
      'json',
    ])
    const report = JSON.parse(stdout) as { numPassedTests: number; numFailedTests: number }
    expect(report.numFailedTests).toBe(0)
    expect(report.numPassedTests).toBeGreaterThan(0)
  })

  it('Given the copied demo, When it replays a trace, Then every replica converges', async () => {
    const { stdout } = await inCopy(process.execPath, [
      '--import',
      'tsx',
      'examples/trace-demo.ts',
      '--trace',
      `examples/data/${SMALL_TRACE}`,
      '--segment',
      '2000',
    ])
    expect(JSON.parse(stdout)).toMatchObject({ events: 26_078, replicas: 3, converged: true })
  })

  it('Given the copied demo in HTTP + SQLite mode, When it runs, Then the server is the installed sync-kit executable and the replicas converge', async () => {
    const { stdout, stderr } = await inCopy(process.execPath, [
      '--import',
      'tsx',
      'examples/trace-demo.ts',
      '--trace',
      'examples/data/typing.json',
      '--segment',
      '40',
      '--transport',
      'http',
      '--store',
      'sqlite',
    ])
    expect(JSON.parse(stdout)).toMatchObject({ events: 120, replicas: 3, converged: true })
    expect(stderr).toMatch(/restarted the sync server halfway/)
    // no source to fall back on: the server ran from node_modules/sync-kit/dist/cli
    expect(existsSync(join(project.dir, 'src'))).toBe(false)
  })
})
