// A store for tests that forwards the required EventStore members (and storeBatch) to a memory
// store, so that a test can add, replace or leave out optional capabilities around it.
import type { EventStore } from '../../types/index.js'

/**
 * The required members of `inner` (and its `storeBatch`), as plain functions.
 * @param inner - the store that holds the events (a memory store, or any with `storeBatch`).
 * @returns a store without optional capabilities but `storeBatch`; spread it and add yours.
 */
export function delegatingStore(
  inner: EventStore & Required<Pick<EventStore, 'storeBatch'>>,
): EventStore {
  return {
    store: (e, o) => inner.store(e, o),
    storeBatch: (events, o) => inner.storeBatch(events, o),
    load: (s, o) => inner.load(s, o),
    loadByAggregate: (a, s, o) => inner.loadByAggregate(a, s, o),
    latestVersion: (o) => inner.latestVersion(o),
    parseVersion: (v) => inner.parseVersion(v),
    getCheckpoint: (k, o) => inner.getCheckpoint(k, o),
    setCheckpoint: (k, v, o) => inner.setCheckpoint(k, v, o),
    close: () => inner.close(),
  }
}
