/**
 * The server core: the one implementation of what a remote does (epoch, push, pull pages, head,
 * live feeds), under every wire. Adapters (the loopback hub, the HTTP handler) map onto it.
 *
 * @example
 * ```ts
 * import { createSyncServer } from '../server/index.js'
 * import { createMemoryStore } from '../stores/memory/index.js'
 *
 * const server = createSyncServer({ store: createMemoryStore(), epoch: 'epoch-1' })
 * const result = await server.push(server.checkPush([{ id: 'e1', type: 'T', aggregateId: 'a', data: {} }]))
 * ```
 *
 * @module
 */
export { createSyncServer } from './sync-server.js'
export { GROUP_MAX_EVENTS, groupCommit } from './push-turns.js'
export type { PushTurns, PushTurnsFactory, QueuedPush, StoreGroup } from './push-turns.js'
export type {
  FeedOptions,
  ServerHead,
  ServerPage,
  ServerPullOptions,
  ServerPushOptions,
  ServerPushResult,
  ServerSubscribeOptions,
  SyncServer,
  SyncServerOptions,
} from './sync-server.js'
// The access policy, its limits and their defaults.
export * from './access.js'
export { CheckedPush } from './sync-server.js'
export { Feed } from './feed.js'
export type { FeedBatch, FeedHandler, FeedNextOptions } from './feed.js'
export type { LogPage } from './page.js'
export { pageBody, wireJson } from './page.js'
export { WorkTracker } from './work.js'
export { loadOrCreateEpoch, renewEpoch } from './epoch.js'
export { createAuthenticator } from './endpoint.js'
export { NO_ORIGINS, createOriginPolicy, isSameHost, originProblem } from './origins.js'
export type { AllowedOrigins, OriginPolicy } from './origins.js'
export type {
  AuthenticatorOptions,
  ByteBudget,
  ByteLease,
  EndpointLogDraft,
  LiveSlots,
  SyncEndpoint,
} from './endpoint.js'
export { SERVER_EPOCH_CHECKPOINT_REMOTE } from '../core/epoch.js'
