import { assert, assertEqual, assertRejects } from '../conformance-api.js'
import { ids, makeEvent, makeEvents, pullAll, sameVersion } from './helpers.js'
import type { CaseTable } from './helpers.js'

/** Transport conformance cases: latestVersion, parseVersion and epochs. */
export const VERSIONS_CASES: CaseTable = {
  'latestVersion is zero while empty, then equals the last pulled version': async ({
    transport,
  }) => {
    assert((await transport.latestVersion()).isZero(), 'latestVersion of an empty remote is zero')
    await transport.push(makeEvents(3))
    const latest = await transport.latestVersion()
    assert(!latest.isZero(), 'latestVersion is non-zero once events exist')
    const last = (await pullAll(transport)).at(-1)
    assert(last !== undefined, 'events were pulled')
    assert(
      sameVersion(latest, last.version),
      `latestVersion ${latest.toString()} equals the last pulled version ${last.version.toString()}`,
    )
  },

  'parseVersion round-trips versions and rejects garbage with version-parse': async ({
    transport,
  }) => {
    await transport.push(makeEvents(2))
    const versions = [
      ...(await pullAll(transport)).map((i) => i.version),
      await transport.latestVersion(),
    ]
    for (const version of versions) {
      const parsed = transport.parseVersion(version.toString())
      assert(sameVersion(parsed, version), `parseVersion("${version.toString()}") round-trips`)
    }
    for (const garbage of ['', 'not a version ✗', '{"v":1}']) {
      await assertRejects(
        () => transport.parseVersion(garbage),
        'version-parse',
        `parseVersion(${JSON.stringify(garbage)})`,
      )
    }
  },

  'epoch stays the same across calls': async ({ transport, pusher }) => {
    const first = await transport.push([makeEvent('e1')])
    const pulled = await transport.pull(null)
    const second = await pusher.push([makeEvent('e2')])
    const again = await transport.pull(null, { limit: 1 })
    const epochs = [first.epoch, pulled.epoch, second.epoch, again.epoch]
    assert(
      epochs.every((epoch) => epoch === epochs[0]),
      `every call reports the same epoch, got ${JSON.stringify(epochs)}`,
    )
    assert(
      epochs[0] === undefined || (typeof epochs[0] === 'string' && epochs[0] !== ''),
      'a reported epoch is a non-empty string',
    )
  },

  'push with ifEpoch stores only while the epoch matches': async ({ transport }) => {
    const first = await transport.push([makeEvent('e1')])
    const epoch = first.epoch
    if (epoch === undefined) {
      // A remote without epochs ignores the condition.
      await transport.push([makeEvent('e2')], { ifEpoch: 'any-epoch' })
      assertEqual(ids(await pullAll(transport)), ['e1', 'e2'], 'ifEpoch ignored without epochs')
      return
    }
    const matching = await transport.push([makeEvent('e2')], { ifEpoch: epoch })
    assertEqual(matching.stored, 1, 'a push with the current epoch is stored')
    const stale = `${epoch}-stale`
    const error = await assertRejects(
      () => transport.push([makeEvent('e3')], { ifEpoch: stale }),
      'epoch-mismatch',
      'a push with another epoch',
    )
    assertEqual(
      error.details,
      { expected: stale, actual: epoch },
      'epoch-mismatch details name both epochs',
    )
    assertEqual(ids(await pullAll(transport)), ['e1', 'e2'], 'nothing stored from the stale push')
  },
}
