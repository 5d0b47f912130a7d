import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// The shape rules of docs/architecture.md: files small enough to read, the SyncManager a facade.
const src = resolve(import.meta.dirname, '..', 'src')
const MAX_FILE_LINES = 600
const MAX_SYNC_MANAGER_CLASS_LINES = 400

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return /\.ts$/.test(name) && !/\.(test|int\.test|test-d|fixture)\.ts$/.test(name) ? [path] : []
  })
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').replace(/\n$/, '').split('\n')
}

describe('source layout', () => {
  it(`keeps every source file under src/ (tests and fixtures aside) at ${MAX_FILE_LINES} lines or fewer`, () => {
    const files = sources(src)
    expect(files.length).toBeGreaterThan(50)
    const long = files
      .map((file) => `${relative(src, file)}: ${lines(file).length} lines`)
      .filter((entry) => Number(/(\d+) lines$/.exec(entry)?.[1]) > MAX_FILE_LINES)
    expect(long).toEqual([])
  })

  it(`keeps the SyncManager class body under ${MAX_SYNC_MANAGER_CLASS_LINES} lines`, () => {
    const text = lines(join(src, 'sync', 'sync-manager.ts'))
    const start = text.findIndex((line) => /^export class SyncManager\b/.test(line))
    const end = text.findIndex((line, index) => index > start && line === '}')
    expect(start).toBeGreaterThanOrEqual(0)
    expect(end).toBeGreaterThan(start)
    expect(end - start - 1).toBeLessThan(MAX_SYNC_MANAGER_CLASS_LINES)
  })
})
