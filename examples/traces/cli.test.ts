import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { isSyncKitError } from 'sync-kit'
import {
  DEMO_USAGE,
  EXIT_CONVERGED,
  EXIT_NOT_CONVERGED,
  EXIT_USAGE,
  parseDemoArgs,
  runDemoCli,
} from './cli.js'
import { DEFAULT_REPLICAS, DEFAULT_SEGMENT } from './replay.js'
import { DEFAULT_TRACE_PATH } from './trace-file.js'

/** Runs the CLI in-process and captures what it writes. */
async function run(argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = []
  const stderr: string[] = []
  const code = await runDemoCli(argv, {
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
  })
  return { code, stdout, stderr }
}

describe('parseDemoArgs', () => {
  it('fills in the defaults', () => {
    expect(parseDemoArgs([])).toEqual({
      help: false,
      trace: DEFAULT_TRACE_PATH,
      replicas: DEFAULT_REPLICAS,
      segment: DEFAULT_SEGMENT,
      transport: 'loopback',
      store: 'memory',
    })
  })

  it('reads --trace, --replicas and --segment, in both --flag value and --flag=value forms', () => {
    expect(parseDemoArgs(['--trace', 'a.json.gz', '--replicas=5', '--segment', '20'])).toEqual({
      help: false,
      trace: 'a.json.gz',
      replicas: 5,
      segment: 20,
      transport: 'loopback',
      store: 'memory',
    })
  })

  it('reads --transport ws', () => {
    expect(parseDemoArgs(['--transport', 'ws'])).toMatchObject({ transport: 'ws', store: 'memory' })
  })

  it('reads --transport and --store', () => {
    expect(parseDemoArgs(['--transport', 'http', '--store=sqlite'])).toMatchObject({
      transport: 'http',
      store: 'sqlite',
    })
  })

  it.each([
    [['--replicas', '0'], '--replicas must be an integer in 1 … 100, got "0"'],
    [['--replicas', '101'], '--replicas must be an integer in 1 … 100, got "101"'],
    [['--replicas', '2.5'], '--replicas must be an integer'],
    [['--segment=-3'], '--segment must be an integer in 1 …'],
    [['--segment', 'ten'], '--segment must be an integer in 1 …'],
    [['--segment', '1e3'], '--segment must be an integer in 1 …'],
    [['--trace', ''], '--trace needs a file path'],
    [['--traces', 'x'], "Unknown option '--traces'"],
    [['extra'], 'positional argument'],
    [['--replicas'], "Option '--replicas <value>' argument missing"],
    [['--transport', 'grpc'], '--transport must be one of loopback, http, ws, got "grpc"'],
    [['--store', 'postgres'], '--store must be one of memory, sqlite, got "postgres"'],
  ])('rejects %j with a clear message', (argv, expected) => {
    let caught: unknown
    try {
      parseDemoArgs(argv)
    } catch (error) {
      caught = error
    }
    expect(isSyncKitError(caught, 'invalid-argument')).toBe(true)
    const message = (caught as Error).message
    expect(message).toMatch(/^\[sync-kit\] \[trace-demo\] /)
    expect(message).toContain(expected)
  })
})

describe('runDemoCli', () => {
  let dir = ''
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sync-kit-cli-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('prints the usage on --help and exits 0', async () => {
    const { code, stdout, stderr } = await run(['--help'])
    expect(code).toBe(EXIT_CONVERGED)
    expect(stdout).toEqual([DEMO_USAGE])
    expect(stderr).toEqual([])
    expect(DEMO_USAGE).toContain('--trace PATH')
    expect(DEMO_USAGE).toContain('--replicas N')
    expect(DEMO_USAGE).toContain('--segment K')
  })

  it('exits 2 with the message on stderr for a bad flag, printing nothing on stdout', async () => {
    const { code, stdout, stderr } = await run(['--replicas', 'many'])
    expect(code).toBe(EXIT_USAGE)
    expect(stdout).toEqual([])
    expect(stderr.join('\n')).toContain('--replicas must be an integer')
  })

  it('exits 2 naming the file when the trace file is malformed', async () => {
    const path = join(dir, 'malformed.json.gz')
    await writeFile(path, gzipSync(JSON.stringify({ startContent: '', endContent: 'x' })))
    const { code, stdout, stderr } = await run(['--trace', path])
    expect(code).toBe(EXIT_USAGE)
    expect(stdout).toEqual([])
    expect(stderr.join('\n')).toContain(`trace file "${path}" txns must be an array`)
  })

  it('exits 2 when the trace does not exist', async () => {
    const path = join(dir, 'nope.json.gz')
    const { code, stderr } = await run(['--trace', path])
    expect(code).toBe(EXIT_USAGE)
    expect(stderr.join('\n')).toContain(`trace file "${path}" cannot be read`)
  })

  it('replays a concurrent trace in its own mode, one replica per agent, and exits 0', async () => {
    // Given a tiny concurrent trace: two agents typing at once, then a merge
    const path = join(dir, 'tiny-concurrent.json.gz')
    const trace = {
      kind: 'concurrent',
      endContent: 'ab',
      numAgents: 2,
      txns: [
        { parents: [], agent: 0, patches: [[0, 0, 'a']] },
        { parents: [], agent: 1, patches: [[0, 0, 'b']] },
        { parents: [0, 1], agent: 1, patches: [] },
      ],
    }
    await writeFile(path, gzipSync(JSON.stringify(trace)))
    // When the demo replays it
    const { code, stdout } = await run(['--trace', path])
    // Then it checks every pair of events and prints the concurrent summary
    expect(code).toBe(EXIT_CONVERGED)
    expect(JSON.parse(stdout.at(-1) ?? '')).toMatchObject({
      trace: 'tiny-concurrent.json.gz',
      events: 3,
      replicas: 2,
      pairsChecked: 3,
      relationMismatches: 0,
      causalOrderViolations: 0,
      converged: true,
    })
  })

  it('exits 1 and prints converged:false when the replicas do not reach endContent', async () => {
    // Given a trace whose recorded endContent does not match its txns
    const path = join(dir, 'wrong-end.json.gz')
    const trace = {
      startContent: '',
      endContent: 'hello!',
      txns: [{ patches: [[0, 0, 'hel']] }, { patches: [[3, 0, 'lo']] }],
    }
    await writeFile(path, gzipSync(JSON.stringify(trace)))
    // When the demo replays it
    const { code, stdout, stderr } = await run([
      '--trace',
      path,
      '--replicas',
      '2',
      '--segment',
      '1',
    ])
    // Then the last stdout line says it did not converge, stderr says why, and the exit code is 1
    expect(code).toBe(EXIT_NOT_CONVERGED)
    const line = JSON.parse(stdout.at(-1) ?? '') as Record<string, unknown>
    expect(line).toMatchObject({
      trace: 'wrong-end.json.gz',
      events: 2,
      replicas: 2,
      converged: false,
    })
    expect(stderr.join('\n')).toContain(
      'projected document differs from endContent at code point 5',
    )
  })
})
