/**
 * Conflict resolvers: deterministic strategies that decide two concurrent events of one
 * aggregate the same way on every replica. Re-exported from `sync-kit`.
 *
 * @example
 * ```ts
 * import { fieldMerge, lastWriteWins, ruleBased } from 'sync-kit'
 * ```
 *
 * @module
 */
export { additiveMerge } from './additive-merge.js'
export type { AdditiveMergeOptions } from './additive-merge.js'
export type { ConflictPair } from './conflict-pair.js'
export { fieldMerge } from './field-merge.js'
export type { FieldMergeOptions } from './field-merge.js'
export type {
  BuiltInFieldRule,
  FieldRule,
  FieldRuleFunction,
  FieldRuleInput,
} from '../projections/field-rule.js'
export { firstWriteWins } from './first-write-wins.js'
export type { FirstWriteWinsOptions } from './first-write-wins.js'
export { lastWriteWins } from './last-write-wins.js'
export type { LastWriteWinsOptions } from './last-write-wins.js'
export { manualResolver } from './manual-resolver.js'
export type {
  ManualChoice,
  ManualConflictStorage,
  ManualResolver,
  ManualResolverOptions,
  PendingConflict,
} from './manual-resolver.js'
export { MERGE_EVENT_TYPE, MERGE_ORIGIN, createMergeEvent } from './merge-event.js'
export type { MergeEventOptions } from './merge-event.js'
export { resolveWith } from './resolve-with.js'
export type { ResolveContext, ResolveFunction, ResolveWithOptions } from './resolve-with.js'
export { ruleBased } from './rule-based.js'
export type { ResolverRule, RuleBasedOptions, RuleMatch } from './rule-based.js'
