import { describe, it } from 'vitest'
import { createMemoryStore } from '../../stores/memory/index.js'
import { openSqliteStore } from '../../stores/sqlite/index.js'
import { transportConformance } from '../../testing/transport-conformance.js'
import type { EventStore } from '../../types/index.js'
import { startWsServer, wsClient } from '../../../test/ws.fixture.js'

const vitestApi = {
  describe,
  it: (name: string, fn: () => Promise<void>) => it(name, fn),
  skip: (name: string, reason: string) => it.skip(`${name} (${reason})`, () => undefined),
}

for (const [name, createStore] of [
  ['ws + memory store', () => Promise.resolve(createMemoryStore())],
  ['ws + sqlite store', () => openSqliteStore({ path: ':memory:' })],
] as const) {
  transportConformance({
    name,
    test: vitestApi,
    createTransport: async () => {
      const store: EventStore = await createStore()
      const server = await startWsServer({ store })
      const options = { retry: { retries: 1, initialMs: 5 } }
      return {
        transport: wsClient(server.url, options),
        peer: wsClient(server.url, options),
        cleanup: async () => {
          await server.close()
          await store.close()
        },
      }
    },
  })
}
