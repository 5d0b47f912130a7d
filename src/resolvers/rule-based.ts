import { throwIfAborted } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { ConflictResolver } from '../types/index.js'
import type { ConflictPair } from './conflict-pair.js'
import { keepSuperseding, orderConflict } from './conflict-pair.js'
import { lastWriteWins } from './last-write-wins.js'

/**
 * When a rule applies. Every given criterion must hold (an empty match applies to every
 * conflict). Criteria look at both events, never at which one is local, so every replica picks
 * the same rule.
 */
export interface RuleMatch {
  /** Applies when either event has this type (or one of these types). */
  readonly type?: string | readonly string[]
  /** Applies to this aggregate (or these aggregates). */
  readonly aggregateId?: string | readonly string[]
  /**
   * Applies when it returns true. Given the events in `compareEvents` order; must be a pure
   * function of them.
   */
  readonly predicate?: (pair: ConflictPair) => boolean
}

/** One rule: when it matches, its resolver decides. */
export interface ResolverRule {
  /** When the rule applies. */
  readonly match: RuleMatch
  /** The resolver to use. */
  readonly resolver: ConflictResolver
  /** A name for the reasons. @defaultValue `rule <index>` */
  readonly name?: string
}

/** Options for {@link ruleBased}. */
export interface RuleBasedOptions {
  /** The rules, tried in order; the first that matches decides. */
  readonly rules: readonly ResolverRule[]
  /** Decides when no rule matches. @defaultValue `lastWriteWins()` */
  readonly fallback?: ConflictResolver
}

/**
 * Picks a resolver per conflict: by event type, aggregate id or a predicate; the first matching
 * rule wins, and a fallback decides the rest. The chosen resolver's reasons are prefixed with the
 * rule that matched.
 *
 * Matching is symmetric (a type matches when either event has it), so the same rule is chosen on
 * every replica. Rules choose between concurrent events only: an event written after seeing the
 * other supersedes it (rule 1 of docs/causality.md) before any rule is tried.
 *
 * @param options - the rules and the fallback.
 * @returns the resolver.
 * @throws SyncKitError `invalid-argument` for a rule without a match object or a resolver, or
 * a fallback that is not a resolver; its `resolve` throws what the chosen resolver throws,
 * `invalid-argument` for a malformed conflict and `aborted` when the signal fired.
 * @example
 * ```ts
 * import { additiveMerge, fieldMerge, lastWriteWins, ruleBased } from 'sync-kit'
 *
 * const resolver = ruleBased({
 *   rules: [
 *     { match: { type: 'LikeToggled' }, resolver: additiveMerge({ counters: ['likes'] }) },
 *     { match: { aggregateId: ['settings'] }, resolver: fieldMerge({ defaultRule: 'max' }) },
 *     {
 *       match: { predicate: ({ later }) => later.metadata?.tenant === 'vip' },
 *       resolver: lastWriteWins({ deleteRule: 'edit-wins' }),
 *     },
 *   ],
 *   fallback: lastWriteWins(),
 * })
 * ```
 */
export function ruleBased(options: RuleBasedOptions): ConflictResolver {
  const rules = options?.rules
  if (!Array.isArray(rules)) {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-kit] [rule-based] options.rules must be an array of rules',
      {
        argument: 'rules',
      },
    )
  }
  const checked = rules.map((rule: ResolverRule, index) => {
    const where = `rules[${index}]`
    if (
      typeof rule !== 'object' ||
      rule === null ||
      typeof rule.match !== 'object' ||
      rule.match === null
    ) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [rule-based] ${where} needs a match object (use {} to match everything)`,
        {
          argument: where,
        },
      )
    }
    if (!isResolver(rule.resolver)) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [rule-based] ${where} needs a resolver with a resolve(conflict) method`,
        {
          argument: `${where}.resolver`,
        },
      )
    }
    const { type, aggregateId, predicate } = rule.match
    if (predicate !== undefined && typeof predicate !== 'function') {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [rule-based] ${where}.match.predicate must be a function`,
        {
          argument: `${where}.match.predicate`,
        },
      )
    }
    return {
      name: rule.name ?? `rule ${index}`,
      types: toSet(type, `${where}.match.type`),
      aggregates: toSet(aggregateId, `${where}.match.aggregateId`),
      predicate,
      resolver: rule.resolver,
    }
  })
  const fallback = options.fallback ?? lastWriteWins()
  if (!isResolver(fallback)) {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-kit] [rule-based] fallback must be a resolver with a resolve(conflict) method',
      {
        argument: 'fallback',
      },
    )
  }
  const resolver = {
    async resolve(conflict, resolveOptions) {
      throwIfAborted(resolveOptions?.signal, '[sync-kit] [rule-based] resolve')
      const pair = orderConflict(conflict, 'rule-based')
      // Rule 1 before any rule: a causally later event supersedes, whichever resolver would match.
      if (pair.causal) return keepSuperseding(conflict, pair, 'rule-based')
      for (const rule of checked) {
        if (
          rule.types !== undefined &&
          !rule.types.has(pair.earlier.type) &&
          !rule.types.has(pair.later.type)
        )
          continue
        if (rule.aggregates !== undefined && !rule.aggregates.has(pair.aggregateId)) continue
        if (rule.predicate !== undefined && rule.predicate(pair) !== true) continue
        const result = await rule.resolver.resolve(conflict, resolveOptions)
        return { ...result, reasons: [`rule-based: ${rule.name} matched`, ...result.reasons] }
      }
      const result = await fallback.resolve(conflict, resolveOptions)
      return {
        ...result,
        reasons: ['rule-based: no rule matched; fallback decides', ...result.reasons],
      }
    },
  } satisfies ConflictResolver
  return resolver
}

function isResolver(value: unknown): value is ConflictResolver {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ConflictResolver).resolve === 'function'
  )
}

function toSet(
  value: string | readonly string[] | undefined,
  argument: string,
): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [rule-based] ${argument} must be a string or an array of strings`,
      {
        argument,
      },
    )
  }
  return new Set(list)
}
