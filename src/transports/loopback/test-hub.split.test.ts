// The split of issue 14 item 1: fault injection is reached through an import (`createTestHub` from
// `sync-kit/testing`), so an app that imports only `createLoopbackHub` does not ship it.
import { build } from 'esbuild'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as testing from '../../testing/index.js'

const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Minified browser ESM of an app that imports `names` from `entry` (a path under src/). */
async function bundle(entry: string, names: readonly string[]): Promise<string> {
  const result = await build({
    stdin: {
      contents: `import { ${names.join(', ')} } from './${entry}'\nglobalThis.x = [${names.join(', ')}]`,
      resolveDir: src,
      loader: 'ts',
    },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'browser',
  })
  return result.outputFiles[0]?.text ?? ''
}

/** Strings only the fault-injecting hub holds: its messages and its method names. */
const FAULT_MARKERS = [
  'injected lost acknowledgement',
  'partition takes a non-empty array',
  'is offline (setOffline or partition)',
  'must be a finite number of ms',
  'failNext',
  'dropNextDeliveries',
  'reorderDeliveries',
]

describe('loopback hub split: fault injection behind sync-kit/testing', () => {
  it('Given an app importing only createLoopbackHub, When bundled, Then no fault-injection code ships', async () => {
    const plain = await bundle('index.ts', ['createLoopbackHub'])
    const withFaults = await bundle('transports/loopback/testing.ts', ['createTestHub'])

    for (const marker of FAULT_MARKERS) {
      expect(withFaults, `the test hub holds "${marker}"`).toContain(marker)
      expect(plain, `the plain hub ships "${marker}"`).not.toContain(marker)
    }
    expect(plain.length).toBeLessThan(withFaults.length - 4_000)
  })

  it('Given sync-kit/testing, When a test hub is made, Then every fault control and the call record are there', () => {
    const hub = testing.createTestHub()
    const controls = [
      'failNext',
      'dropNextDeliveries',
      'duplicateNextDeliveries',
      'reorderDeliveries',
      'clearFaults',
      'client',
      'setOffline',
      'isOffline',
      'partition',
      'heal',
      'clearCalls',
    ] as const
    for (const name of controls) expect(typeof hub[name], name).toBe('function')
    for (const name of controls.slice(0, 5)) {
      expect(typeof hub.client('a')[name as keyof testing.LoopbackFaults], `client ${name}`).toBe(
        'function',
      )
    }
    expect(hub.calls).toEqual([])
  })
})
