/**
 * The one way the manager's parts keep what must survive a restart: a value per part and remote,
 * under the state key `sync-kit:<name>:<remote>` of the store's optional `getState`/`setState`.
 * A store without that capability keeps nothing, and each part then holds its value in memory
 * only (documented per part).
 *
 * @module
 */
import { signalOptions } from '../errors/abort.js'
import type { JsonValue } from '../types/index.js'
import type { SyncContext } from './sync-options.js'

/** The parts' state names: `holds`, `refused`, `conflicts`. */
export type StateName = 'holds' | 'refused' | 'conflicts'

/**
 * Reads a part's durable value.
 * @param ctx - the store and the remote's name.
 * @param name - the part's state name.
 * @param signal - cancels.
 * @returns the value last saved, `undefined` when none was (or the store keeps no state).
 */
export async function loadState(
  ctx: SyncContext,
  name: StateName,
  signal: AbortSignal | undefined,
): Promise<JsonValue | undefined> {
  return ctx.store.getState?.(stateKey(ctx, name), signalOptions(signal))
}

/**
 * Saves a part's durable value (a no-op when the store keeps no state).
 * @param ctx - the store and the remote's name.
 * @param name - the part's state name.
 * @param value - the JSON value.
 * @param signal - cancels.
 */
export async function saveState(
  ctx: SyncContext,
  name: StateName,
  value: JsonValue,
  signal: AbortSignal | undefined,
): Promise<void> {
  await ctx.store.setState?.(stateKey(ctx, name), value, signalOptions(signal))
}

function stateKey(ctx: SyncContext, name: StateName): string {
  return `sync-kit:${name}:${ctx.pushKey.remote}`
}
