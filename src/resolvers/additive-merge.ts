import { SyncKitError } from '../errors/sync-kit-error.js'
import type { DeleteRule } from '../projections/tombstone.js'
import type { ConflictResolver } from '../types/index.js'
import type { BuiltInFieldRule, FieldRule, FieldRuleFunction } from '../projections/field-rule.js'
import { createFieldResolver } from './field-merge.js'

/** Options for {@link additiveMerge}. */
export interface AdditiveMergeOptions {
  /**
   * Counter fields: each event's value is a number delta (`{ likes: 1 }`), summed by
   * `materializeAggregate`.
   * @defaultValue `[]`
   */
  readonly counters?: readonly string[]
  /**
   * Set fields: each event's value is `{ add?: [...], remove?: [...] }`, applied as an add-wins
   * observed-remove set by `materializeAggregate`.
   * @defaultValue `[]`
   */
  readonly sets?: readonly string[]
  /**
   * Rules for other named fields, as in `fieldMerge`.
   * @defaultValue `{}`
   */
  readonly fields?: Readonly<Record<string, FieldRule>>
  /**
   * The rule for other contested fields.
   * @defaultValue `'last-write-wins'`
   */
  readonly defaultRule?: BuiltInFieldRule | FieldRuleFunction
  /**
   * How a conflict between a delete and an edit is decided; see `DeleteRule`.
   * @defaultValue `'delete-wins'`
   */
  readonly deleteRule?: DeleteRule
}

/**
 * Additive merge for counters and sets: concurrent increments both count and concurrent set
 * additions both land, because the events carry operations (a delta, an add/remove) rather than
 * the resulting value, and operations commute. The resolver keeps both events (decision `merge`)
 * and writes no event for the additive fields — `materializeAggregate` with the same field kinds
 * sums the deltas and applies the set operations; other contested fields are merged as in
 * `fieldMerge` (by `fields` / `defaultRule`, with a merge event when needed).
 *
 * Why operations: from two absolute values (`likes: 6` and `likes: 7`) the sum of concurrent
 * increments cannot be recovered without their common base, which a conflict does not carry.
 *
 * @param options - the counter and set fields, rules for other fields, the delete rule.
 * @returns the resolver.
 * @throws SyncKitError `invalid-argument` when no counter or set field is named, a field is
 * named twice, or a rule is unknown; its `resolve` throws `invalid-event` when a counter value is
 * not a number or a set value is not an operation, `invalid-argument` for a malformed conflict,
 * `aborted` when the signal fired.
 * @example
 * ```ts
 * import { additiveMerge, materializeAggregate } from 'sync-kit'
 *
 * const resolver = additiveMerge({ counters: ['likes'], sets: ['tags'] })
 * // events: { likes: 1 }, { tags: { add: ['news'] } }, { likes: -1, tags: { remove: ['news'] } }
 * const state = materializeAggregate(events, { fields: { likes: 'counter', tags: 'set' } })
 * ```
 */
export function additiveMerge(options: AdditiveMergeOptions): ConflictResolver {
  const counters = checkNames(options?.counters, 'counters')
  const sets = checkNames(options?.sets, 'sets')
  if (counters.length === 0 && sets.length === 0) {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-kit] [additive-merge] name at least one counter or set field (options.counters / options.sets); for plain values use fieldMerge',
      { argument: 'counters' },
    )
  }
  const fields: Record<string, FieldRule> = { ...options.fields }
  for (const [names, kind] of [
    [counters, 'counter'],
    [sets, 'set'],
  ] as const) {
    for (const field of names) {
      if (Object.prototype.hasOwnProperty.call(fields, field)) {
        throw new SyncKitError(
          'invalid-argument',
          `[sync-kit] [additive-merge] field "${field}" is named more than once across counters, sets and fields; give each field one rule`,
          { argument: kind === 'counter' ? 'counters' : 'sets' },
        )
      }
      fields[field] = kind
    }
  }
  return createFieldResolver('additive-merge', fields, options)
}

function checkNames(value: unknown, argument: string): readonly string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [additive-merge] ${argument} must be an array of non-empty field names`,
      { argument },
    )
  }
  return value as readonly string[]
}
