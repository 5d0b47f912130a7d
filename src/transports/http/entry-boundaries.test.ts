import { readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// `sync-kit/http` runs in browsers, workers, Deno and Bun: nothing it loads may need Node. Only
// `sync-kit/http/node` may import `node:*`. Guards against a helper drifting into the wrong file.
const here = import.meta.dirname
const src = resolve(here, '..', '..')

/** Every module reachable from `entry` through relative imports, with their bare imports. */
function graph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>()
  const queue = [entry]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '')
    const bare: string[] = []
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1] as string
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
      else bare.push(spec)
    }
    seen.set(file, bare)
  }
  return seen
}

describe('sync-kit/http entry boundaries', () => {
  it('Given the browser entry, When following its imports, Then no Node built-in and no node adapter is reached', () => {
    const modules = graph(resolve(here, 'index.ts'))
    expect(modules.size).toBeGreaterThan(5)
    for (const [file, bare] of modules) {
      const where = relative(src, file)
      expect(where, 'the node adapter is not part of the browser entry').not.toBe(
        'transports/http/node.ts',
      )
      for (const spec of bare) {
        expect(spec, `${where} imports ${spec}`).not.toMatch(/^node:/)
        expect(['valibot', 'eventsource-parser'], `${where} imports ${spec}`).toContain(spec)
      }
    }
  })

  it('Given the node entry, When following its imports, Then it reaches only node:* and the core', () => {
    for (const [file, bare] of graph(resolve(here, 'node.ts'))) {
      for (const spec of bare)
        expect(spec, `${relative(src, file)} imports ${spec}`).toMatch(/^node:/)
    }
  })
})
