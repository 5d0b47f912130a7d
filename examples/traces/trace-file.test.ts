import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { isSyncKitError } from 'sync-kit'
import {
  DEFAULT_TRACE_PATH,
  bundledTracePath,
  loadTrace,
  parsePatches,
  parseTrace,
} from './trace-file.js'

/** Runs `fn`, expects it to throw `invalid-argument`, and returns the message. */
async function invalidMessage(fn: () => unknown): Promise<string> {
  let caught: unknown
  try {
    await fn()
  } catch (error) {
    caught = error
  }
  expect(isSyncKitError(caught, 'invalid-argument')).toBe(true)
  const message = (caught as Error).message
  expect(message).toMatch(/^\[sync-kit\] \[trace-demo\] /)
  return message
}

const SEQUENTIAL = {
  startContent: '',
  endContent: 'hi',
  txns: [{ time: '2021-01-01T00:00:00Z', patches: [[0, 0, 'hi']] }],
}

describe('loadTrace', () => {
  let dir = ''
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sync-kit-trace-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('loads every bundled trace with the counts of the data set README', async () => {
    const expected = [
      ['sequential-automerge-paper.json.gz', 'sequential', 259_778, 104_852],
      ['sequential-seph-blog1.json.gz', 'sequential', 137_154, 56_769],
      ['sequential-friendsforever_flat.json.gz', 'sequential', 26_078, 21_362],
      ['concurrent-friendsforever.json.gz', 'concurrent', 26_078, 21_362],
    ] as const
    for (const [file, kind, txns, chars] of expected) {
      const trace = await loadTrace(bundledTracePath(file))
      expect(trace.kind, file).toBe(kind)
      expect(trace.txns.length, file).toBe(txns)
      expect(Array.from(trace.endContent).length, file).toBe(chars)
    }
  })

  it('defaults to the automerge-paper trace, resolved relative to the repo, not the cwd', () => {
    expect(DEFAULT_TRACE_PATH).toBe(
      join(import.meta.dirname, '..', 'data', 'sequential-automerge-paper.json.gz'),
    )
  })

  it('reads the concurrent kind with its causal DAG', async () => {
    const trace = await loadTrace(bundledTracePath('concurrent-friendsforever.json.gz'))
    if (trace.kind !== 'concurrent') throw new Error('expected a concurrent trace')
    expect(trace.numAgents).toBe(2)
    expect(trace.txns[0]?.parents).toEqual([])
    expect(trace.txns.every((txn, i) => txn.parents.every((p) => p < i))).toBe(true)
  })

  it('accepts plain (not gzipped) JSON', async () => {
    const path = join(dir, 'plain.json')
    await writeFile(path, JSON.stringify(SEQUENTIAL))
    const trace = await loadTrace(path)
    expect(trace).toEqual({ kind: 'sequential', ...SEQUENTIAL })
  })

  it('names the file when it cannot be read', async () => {
    const path = join(dir, 'missing.json.gz')
    const message = await invalidMessage(() => loadTrace(path))
    expect(message).toContain(`trace file "${path}" cannot be read`)
    expect(message).toContain('check the --trace path')
  })

  it('names the file when the gzip stream is truncated', async () => {
    const path = join(dir, 'truncated.json.gz')
    const full = gzipSync(JSON.stringify(SEQUENTIAL))
    await writeFile(path, full.subarray(0, full.length - 10))
    const message = await invalidMessage(() => loadTrace(path))
    expect(message).toContain(`trace file "${path}" is not valid gzip`)
  })

  it('names the file when the content is not JSON', async () => {
    const path = join(dir, 'broken.json.gz')
    await writeFile(path, gzipSync('{"startContent": "", "endContent": '))
    const message = await invalidMessage(() => loadTrace(path))
    expect(message).toContain(`trace file "${path}" is not valid JSON`)
  })

  it('names the file and the field when the shape is wrong', async () => {
    const path = join(dir, 'shape.json.gz')
    await writeFile(
      path,
      gzipSync(JSON.stringify({ ...SEQUENTIAL, txns: [{ patches: [[0, 0]] }] })),
    )
    const message = await invalidMessage(() => loadTrace(path))
    expect(message).toContain(`trace file "${path}" txns[0].patches[0] must be a patch`)
  })
})

describe('parseTrace', () => {
  it('treats a file without kind, or with kind "sequential", as sequential', () => {
    expect(parseTrace(SEQUENTIAL, 'x').kind).toBe('sequential')
    expect(parseTrace({ ...SEQUENTIAL, kind: 'sequential' }, 'x').kind).toBe('sequential')
  })

  it('rejects an unknown kind, listing the supported ones', async () => {
    const message = await invalidMessage(() =>
      parseTrace({ ...SEQUENTIAL, kind: 'branching' }, 'f'),
    )
    expect(message).toContain('trace file "f" has unknown kind "branching"')
    expect(message).toContain('"sequential" (or no kind field) and "concurrent"')
  })

  it.each([
    ['a non-object', [], 'must be a JSON object, got an array'],
    [
      'a missing endContent',
      { startContent: '', txns: [] },
      'endContent must be a string, got nothing',
    ],
    ['a non-array txns', { ...SEQUENTIAL, txns: {} }, 'txns must be an array, got an object'],
    ['a non-object txn', { ...SEQUENTIAL, txns: [7] }, 'txns[0] must be an object, got 7'],
    ['missing patches', { ...SEQUENTIAL, txns: [{}] }, 'txns[0].patches must be an array'],
    ['a negative pos', { ...SEQUENTIAL, txns: [{ patches: [[-1, 0, 'a']] }] }, '[0][0] (pos)'],
    [
      'a fractional numDeleted',
      { ...SEQUENTIAL, txns: [{ patches: [[0, 0.5, 'a']] }] },
      '[0][1] (numDeleted) must be a non-negative integer, got 0.5',
    ],
    [
      'a non-string insert',
      { ...SEQUENTIAL, txns: [{ patches: [[0, 0, 5]] }] },
      'txns[0].patches[0][2] (inserted) must be a string, got 5',
    ],
    [
      'a non-string time',
      { ...SEQUENTIAL, txns: [{ time: 1, patches: [] }] },
      'txns[0].time must be a string when present',
    ],
  ])('rejects a sequential trace with %s', async (_name, json, expected) => {
    const message = await invalidMessage(() => parseTrace(json, 'f'))
    expect(message).toContain('trace file "f" ')
    expect(message).toContain(expected)
  })

  const concurrent = (txns: unknown[], numAgents: unknown = 2): unknown => ({
    kind: 'concurrent',
    endContent: 'ab',
    numAgents,
    txns,
  })

  it('accepts a valid concurrent trace', () => {
    const trace = parseTrace(
      concurrent([
        { parents: [], agent: 0, numChildren: 1, patches: [[0, 0, 'a']] },
        { parents: [0], agent: 1, numChildren: 0, patches: [[1, 0, 'b']] },
      ]),
      'c',
    )
    expect(trace.kind).toBe('concurrent')
  })

  it.each([
    ['zero agents', concurrent([], 0), 'numAgents must be a positive integer, got 0'],
    [
      'a parent that is not earlier',
      concurrent([{ parents: [0], agent: 0, patches: [] }]),
      'txns[0].parents[0] must be the index of an earlier txn',
    ],
    [
      'parents that are not an array',
      concurrent([{ parents: 0, agent: 0, patches: [] }]),
      'txns[0].parents must be an array of txn indexes',
    ],
    [
      'an agent out of range',
      concurrent([{ parents: [], agent: 2, patches: [] }]),
      'txns[0].agent must be an integer in 0 … 1 (numAgents), got 2',
    ],
    [
      'a bad numChildren',
      concurrent([{ parents: [], agent: 0, numChildren: -1, patches: [] }]),
      'txns[0].numChildren must be a non-negative integer when present',
    ],
  ])('rejects a concurrent trace with %s', async (_name, json, expected) => {
    const message = await invalidMessage(() => parseTrace(json, 'c'))
    expect(message).toContain(`trace file "c" ${expected}`)
  })
})

describe('parsePatches', () => {
  it('returns valid patches and names the holder of invalid ones', async () => {
    expect(parsePatches([[0, 0, 'a']], 'event "e1"', 'data.patches')).toEqual([[0, 0, 'a']])
    const message = await invalidMessage(() => parsePatches('x', 'event "e1"', 'data.patches'))
    expect(message).toContain('event "e1" data.patches must be an array of patches, got string')
  })
})
