import { SyncKitError } from '../errors/sync-kit-error.js'
import type { JsonValue } from '../types/index.js'
import { canonicalJson } from './json-value.js'

/** Longest key of `EventStore.getState`/`setState`: 256 characters. */
export const MAX_STATE_KEY_LENGTH = 256

/**
 * Checks a key of the optional `getState`/`setState` store capability. The one check every store
 * uses, so a bad key fails the same way everywhere.
 * @param key - the key as given.
 * @param component - names the store in the message, e.g. `sqlite`.
 * @returns the key.
 * @throws SyncKitError `invalid-argument` (argument `key`) for anything but a string of 1–256
 * characters.
 * @example
 * ```ts
 * import { checkStateKey } from 'sync-kit/adapter'
 *
 * checkStateKey('sync-kit:refused:default', 'my-store') // returns the key
 * ```
 */
export function checkStateKey(key: unknown, component: string): string {
  if (typeof key !== 'string' || key === '' || key.length > MAX_STATE_KEY_LENGTH) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] a state key must be a string of 1-${MAX_STATE_KEY_LENGTH} characters, got ${typeof key === 'string' ? `${key.length} characters` : typeof key}`,
      { argument: 'key' },
    )
  }
  return key
}

/**
 * Checks a value of `setState` and serialises it: the text a store persists (canonical JSON, so
 * the same value always gives the same text).
 * @param value - the value as given (not `undefined`: that deletes the key).
 * @param component - names the store in the message.
 * @returns the canonical JSON text.
 * @throws SyncKitError `invalid-argument` (argument `value`) for a value that is not JSON
 * (functions, bigints, `NaN`, class instances, cycles, too deep).
 * @example
 * ```ts
 * import { checkStateValue } from 'sync-kit/adapter'
 *
 * checkStateValue({ b: 1, a: [true] }, 'my-store') // '{"a":[true],"b":1}'
 * ```
 */
export function checkStateValue(value: JsonValue, component: string): string {
  try {
    return canonicalJson(value)
  } catch (cause) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] a state value must be JSON: ${cause instanceof Error ? cause.message.replace(/^\[sync-kit\] (\[[^\]]+\] )?/, '') : String(cause)}`,
      { argument: 'value' },
      { cause },
    )
  }
}
