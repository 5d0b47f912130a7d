import { canonicalJson, jsonEqual } from '../core/event-validation.js'
import { throwIfAborted } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import { readCounterDelta, readSetOperation } from '../projections/field-operations.js'
import type { BuiltInFieldRule, FieldRule, FieldRuleFunction } from '../projections/field-rule.js'
import { compareCodePoints, compareJson, isJsonObject } from '../projections/json-order.js'
import { checkDeleteRule } from '../projections/tombstone.js'
import type { DeleteRule } from '../projections/tombstone.js'
import type { ConflictResolver, Event, JsonValue, ResolvedConflict } from '../types/index.js'
import type { ConflictPair } from './conflict-pair.js'
import { describe, orderConflict, resolveFixed } from './conflict-pair.js'
import { createMergeEvent } from './merge-event.js'

/** Options for {@link fieldMerge}. */
export interface FieldMergeOptions {
  /**
   * Rules for named top-level fields. Pass the same object to `materializeAggregate` so that its
   * `counter` and `set` fields are read the same way.
   * @defaultValue `{}`
   */
  readonly fields?: Readonly<Record<string, FieldRule>>
  /**
   * The rule for contested fields not in `fields`, and for payloads that are not objects (merged
   * as one value).
   * @defaultValue `'last-write-wins'`
   */
  readonly defaultRule?: BuiltInFieldRule | FieldRuleFunction
  /**
   * How a conflict between a delete and an edit is decided; see `DeleteRule`.
   * @defaultValue `'delete-wins'`
   */
  readonly deleteRule?: DeleteRule
}

const BUILT_IN: ReadonlySet<string> = new Set([
  'last-write-wins',
  'first-write-wins',
  'max',
  'min',
  'union',
])
const KINDS: ReadonlySet<string> = new Set(['counter', 'set'])

/**
 * Field-level merge: the fields each event changed are computed from the two payloads
 * (top-level keys of `data`); a field only one event set is kept as it is (both changes survive);
 * a field both set to different values is resolved by its rule. When a rule picks a value other
 * than the later event's (which HLC-ordered application already gives), the resolver writes one
 * merge event (`createMergeEvent`, deterministic id and content) holding the resolved values of
 * the contested fields; it sorts after both inputs, so projections apply it last.
 *
 * Decision `merge`, no single winner. A conflict with a delete follows `deleteRule`. Payloads
 * that are not objects are merged as one value by `defaultRule`. Rules merge concurrent events
 * only (rule 1 of docs/causality.md): of two events one of which was written after seeing the
 * other, the later is kept as it is (`keep-…`), whatever the stamps.
 *
 * @param options - per-field rules, the default rule, the delete rule.
 * @returns the resolver.
 * @throws SyncKitError `invalid-argument` for an unknown rule or delete rule; its `resolve`
 * throws `invalid-argument` for a malformed conflict or a rule that returned non-JSON,
 * `invalid-event` for a malformed `counter`/`set` value, `aborted` when the signal fired.
 * @example
 * ```ts
 * import { fieldMerge } from 'sync-kit'
 *
 * const resolver = fieldMerge({
 *   fields: { title: 'first-write-wins', views: 'max', tags: 'union' },
 *   defaultRule: 'last-write-wins',
 * })
 * ```
 */
export function fieldMerge(options: FieldMergeOptions = {}): ConflictResolver {
  return createFieldResolver('field-merge', options.fields ?? {}, options)
}

/**
 * Builds a field-merging resolver (shared by `fieldMerge` and `additiveMerge`).
 * @param name - the resolver name for reasons, errors and `metadata.resolver`.
 * @param fields - the field rules.
 * @param options - default rule and delete rule.
 * @returns the resolver.
 * @throws SyncKitError `invalid-argument` for unknown rules.
 */
export function createFieldResolver(
  name: string,
  fields: Readonly<Record<string, FieldRule>>,
  options: Pick<FieldMergeOptions, 'defaultRule' | 'deleteRule'>,
): ConflictResolver {
  const deleteRule = checkDeleteRule(options.deleteRule, name)
  const defaultRule = options.defaultRule ?? 'last-write-wins'
  if (typeof defaultRule !== 'function' && !BUILT_IN.has(defaultRule)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${name}] defaultRule must be one of ${[...BUILT_IN].join(', ')} or a function, got ${JSON.stringify(defaultRule) ?? String(defaultRule)}`,
      { argument: 'defaultRule' },
    )
  }
  if (!isJsonObject(fields as unknown)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${name}] fields must be an object of field rules`,
      {
        argument: 'fields',
      },
    )
  }
  const rules = new Map<string, FieldRule>()
  for (const [field, rule] of Object.entries(fields)) {
    if (typeof rule !== 'function' && !BUILT_IN.has(rule) && !KINDS.has(rule)) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [${name}] rule for field "${field}" must be one of ${[...BUILT_IN, ...KINDS].join(', ')} or a function, got ${JSON.stringify(rule) ?? String(rule)}`,
        { argument: `fields.${field}` },
      )
    }
    rules.set(field, rule)
  }
  const resolver = {
    async resolve(conflict, resolveOptions) {
      throwIfAborted(resolveOptions?.signal, `[sync-kit] [${name}] resolve`)
      const pair = orderConflict(conflict, name)
      return (
        resolveFixed(conflict, pair, deleteRule, name) ??
        mergeFields(pair, name, rules, defaultRule)
      )
    },
  } satisfies ConflictResolver
  return resolver
}

function mergeFields(
  pair: ConflictPair,
  name: string,
  rules: ReadonlyMap<string, FieldRule>,
  defaultRule: BuiltInFieldRule | FieldRuleFunction,
): ResolvedConflict {
  const { earlier, later } = pair
  const reasons: string[] = []
  const before = earlier.data
  const after = later.data
  let merged: JsonValue | undefined
  let needsEvent = false

  if (isJsonObject(before) && isJsonObject(after)) {
    // No prototype: a field named "__proto__" is stored, not taken as the object's prototype.
    const resolved = Object.create(null) as Record<string, JsonValue>
    const untouched: string[] = []
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(
      compareCodePoints,
    )
    for (const field of keys) {
      // Own fields only: a side without "constructor" does not set it to Object's constructor.
      const a = ownField(before, field)
      const b = ownField(after, field)
      if (a === undefined || b === undefined) {
        untouched.push(field)
        continue
      }
      const rule = rules.get(field) ?? defaultRule
      if (rule === 'counter') {
        const x = readCounterDelta(earlier, field, name) as number
        const y = readCounterDelta(later, field, name) as number
        reasons.push(`${name}: counter "${field}": both deltas apply (${signed(x)}, ${signed(y)})`)
        continue
      }
      if (rule === 'set') {
        readSetOperation(earlier, field, name)
        readSetOperation(later, field, name)
        reasons.push(`${name}: set "${field}": both operations apply`)
        continue
      }
      if (jsonEqual(a, b)) continue
      const value = applyRule(rule, field, pair, a, b, name)
      resolved[field] = value
      if (!jsonEqual(value, b)) needsEvent = true
      reasons.push(
        `${name}: "${field}" differs; ${ruleName(rule)} resolves it to ${preview(value)}`,
      )
    }
    if (untouched.length > 0) {
      reasons.push(
        `${name}: fields changed by one side only are kept: ${untouched.map((f) => `"${f}"`).join(', ')}`,
      )
    }
    merged = resolved
  } else if (!jsonEqual(before, after)) {
    const value = applyRule(defaultRule, undefined, pair, toJson(before), toJson(after), name)
    merged = value
    needsEvent = !jsonEqual(value, after)
    reasons.push(
      `${name}: payloads are not objects; ${ruleName(defaultRule)} resolves them to ${preview(value)}`,
    )
  }

  const resolvedEvents: Event[] = [earlier, later]
  if (needsEvent && merged !== undefined) {
    const event = createMergeEvent([earlier, later], merged, { resolver: name })
    resolvedEvents.push(event)
    reasons.push(
      `${name}: merge event "${event.id}" records the resolved fields after ${describe(earlier)} and ${describe(later)}`,
    )
  } else {
    reasons.push(
      `${name}: applying ${describe(earlier)} then ${describe(later)} already gives the merged state; no merge event needed`,
    )
  }
  return { resolvedEvents, decision: 'merge', reasons }
}

function applyRule(
  rule: FieldRule,
  field: string | undefined,
  pair: ConflictPair,
  a: JsonValue,
  b: JsonValue,
  name: string,
): JsonValue {
  switch (rule) {
    case 'last-write-wins':
      return b
    case 'first-write-wins':
      return a
    case 'max':
      return compareJson(a, b) > 0 ? a : b
    case 'min':
      return compareJson(a, b) < 0 ? a : b
    case 'union':
      return Array.isArray(a) && Array.isArray(b) ? union(a, b) : b
    case 'counter':
    case 'set':
      // Operation kinds never reach here (they are handled before); keep the later value.
      return b
    default: {
      const value = rule({
        field,
        aggregateId: pair.aggregateId,
        earlier: { event: pair.earlier, value: a },
        later: { event: pair.later, value: b },
      })
      try {
        canonicalJson(value)
      } catch (cause) {
        throw new SyncKitError(
          'invalid-argument',
          `[sync-kit] [${name}] the rule for ${field === undefined ? 'the payload' : `field "${field}"`} returned a value that is not JSON; return plain objects, arrays, strings, finite numbers, booleans or null`,
          { argument: field === undefined ? 'defaultRule' : `fields.${field}` },
          { cause },
        )
      }
      return value
    }
  }
}

function union(a: readonly JsonValue[], b: readonly JsonValue[]): JsonValue[] {
  const seen = new Set<string>()
  const out: JsonValue[] = []
  for (const item of [...a, ...b]) {
    const key = canonicalJson(item)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(item)
  }
  return out
}

function ruleName(rule: FieldRule): string {
  return typeof rule === 'function' ? 'a custom rule' : rule
}

function signed(n: number): string {
  return n < 0 ? String(n) : `+${n}`
}

function preview(value: JsonValue): string {
  const text = canonicalJson(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function ownField(data: Readonly<Record<string, JsonValue>>, field: string): JsonValue | undefined {
  return Object.prototype.hasOwnProperty.call(data, field) ? data[field] : undefined
}

function toJson(value: unknown): JsonValue {
  // Stores only hold JSON; `undefined` data (an invalid event) is merged as null.
  return value === undefined ? null : (value as JsonValue)
}
