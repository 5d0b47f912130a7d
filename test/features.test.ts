// Every feature an app no longer ships unless it imports it is still there for the app that does:
// issue 14 moved live mode, the refusal list and durable conflicts into feature modules, the
// fault injection of the loopback hub into sync-kit/testing, and the manager stopped using the
// Hlc, HybridLogicalClock and VectorClock classes. For each, an app that imports it is bundled
// from the built package the way an app's bundler does it, the bundle is run, and the feature
// does its job there; and the bundle of the same app without the feature is smaller by at least
// a few hundred bytes (the feature's code is behind its import, not in every app).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bundleApp, root } from './package.fixture.js'

/** What every app of this test imports and does: a manager on a memory store and a hub. */
const BASE_IMPORTS = ['SyncManager', 'createMemoryStore', 'createLoopbackHub', 'lastWriteWins']

/** One feature: what the app imports for it, and what the app does with it. */
interface FeatureCase {
  readonly name: string
  /** Extra imports, by entry. */
  readonly imports: Readonly<Record<string, readonly string[]>>
  /**
   * The app's body (an async function's): `hub` and `manager` exist (`features` holds
   * `FEATURES`); it returns what the test checks.
   */
  readonly features: string
  readonly body: string
  readonly expected: unknown
}

const CASES: readonly FeatureCase[] = [
  {
    name: 'liveMode(): start() keeps a live subscription to the remote',
    imports: { 'sync-kit': ['liveMode'] },
    features: '[liveMode()]',
    body: `manager.start()
      for (let i = 0; i < 50 && hub.subscriptions === 0; i++) await new Promise((r) => setTimeout(r, 10))
      const live = hub.subscriptions
      await manager.stop()
      return live`,
    expected: 1,
  },
  {
    name: 'refusalList(): refusals() lists the refused events (none here)',
    imports: { 'sync-kit': ['refusalList'] },
    features: '[refusalList()]',
    body: `await manager.record({ type: 'T', aggregateId: 'a', data: 1 })
      await manager.sync()
      return await manager.refusals()`,
    expected: [],
  },
  {
    name: 'durableConflicts(): a manager with it syncs, and keeps its (empty) queue in the store',
    imports: { 'sync-kit': ['durableConflicts'] },
    features: '[durableConflicts()]',
    body: `await manager.record({ type: 'T', aggregateId: 'a', data: 1 })
      const result = await manager.sync()
      return [result.pushed, result.conflicts]`,
    expected: [1, 0],
  },
  {
    name: 'createTestHub (sync-kit/testing): an injected failure fails the next push',
    imports: { 'sync-kit/testing': ['createTestHub'] },
    features: '[]',
    body: `const test = createTestHub()
      test.failNext(1, { op: 'push' })
      const error = await test.connect('x').push([{ id: 'e1', type: 'T', aggregateId: 'a', data: 1 }]).catch((e) => e.code)
      return error`,
    expected: 'unavailable',
  },
  {
    name: 'HybridLogicalClock and Hlc: stamps that follow a received one',
    imports: { 'sync-kit': ['HybridLogicalClock', 'Hlc'] },
    features: '[]',
    body: `const clock = new HybridLogicalClock({ nodeId: 'n', clock: { now: () => 5 } })
      const next = clock.receive(Hlc.parse('00000000000a-0003-m'))
      return [next instanceof Hlc, next.toString()]`,
    expected: [true, '00000000000a-0004-n'],
  },
  {
    name: 'VectorClock: parse, merge and relation',
    imports: { 'sync-kit': ['VectorClock'] },
    features: '[]',
    body: `const a = VectorClock.parse('a:1')
      const b = VectorClock.parse('b:2')
      return [a.relation(b), a.merge(b).toString()]`,
    expected: ['concurrent', 'a:1,b:2'],
  },
]

/**
 * The app's source: imports, a hub and a manager, the case's body, its result in `globalThis`.
 * @param feature - the case, or none for the app without any feature.
 * @returns the source.
 */
function appSource(feature: FeatureCase | undefined): string {
  const byEntry: Record<string, string[]> = { 'sync-kit': [...BASE_IMPORTS] }
  for (const [entry, names] of Object.entries(feature?.imports ?? {})) {
    byEntry[entry] = [...(byEntry[entry] ?? []), ...names]
  }
  const imports = Object.entries(byEntry)
    .map(([entry, names]) => `import { ${names.join(', ')} } from '${entry}'`)
    .join('\n')
  return `${imports}
globalThis.run = async () => {
  const hub = createLoopbackHub()
  const manager = new SyncManager({
    store: createMemoryStore(),
    transport: hub.connect('app'),
    nodeId: 'app',
    resolver: lastWriteWins(),
    features: ${feature?.features ?? '[]'},
  })
  const result = await (async () => { ${feature?.body ?? 'return (await manager.sync()).pushed'} })()
  await manager.close()
  await hub.close()
  return result
}
`
}

/**
 * Bundles an app like an app's bundler does (esbuild, browser ESM, minified).
 * @param source - the app's only file.
 * @returns the bundle's code.
 */
async function bundle(source: string): Promise<string> {
  return new TextDecoder().decode(await bundleApp(source))
}

/**
 * Runs a bundle and its app.
 * @param code - the bundle.
 * @returns what the app returned.
 */
async function runBundle(code: string): Promise<unknown> {
  const slot = globalThis as { run?: (() => Promise<unknown>) | undefined }
  slot.run = undefined
  await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)
  const run = (globalThis as { run?: () => Promise<unknown> }).run
  if (run === undefined) throw new Error('the bundle did not define run()')
  return run()
}

describe('features behind imports', () => {
  it.each(CASES)(
    'Given an app that imports it, When bundled and run, Then $name; and an app without it ships less',
    async (feature) => {
      expect(
        existsSync(join(root, 'dist', 'index.js')),
        'dist/index.js is missing: run npm run build (npm test builds first)',
      ).toBe(true)
      const [withFeature, without] = await Promise.all([
        bundle(appSource(feature)),
        bundle(appSource(undefined)),
      ])
      expect(await runBundle(withFeature)).toEqual(feature.expected)
      expect(withFeature.length - without.length).toBeGreaterThan(300)
    },
  )

  it('Given the app without features, When bundled and run, Then it syncs', async () => {
    expect(await runBundle(await bundle(appSource(undefined)))).toBe(0)
  })
})
