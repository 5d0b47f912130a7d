/**
 * Which errors refuse particular events rather than the connection: retrying those events cannot
 * help, so the push and pull passes skip (quarantine) them and go on with the rest.
 *
 * @module
 */
import { isSyncKitError } from '../errors/sync-kit-error.js'

/**
 * Tells whether an error refuses particular events (not the connection).
 * @param error - what a store or transport threw.
 * @returns true for `invalid-event`, `event-id-conflict` and `payload-too-large`.
 */
export function isRefusal(error: unknown): boolean {
  return (
    isSyncKitError(error, 'invalid-event') ||
    isSyncKitError(error, 'event-id-conflict') ||
    // One event over the remote's size limit: sending it again cannot help.
    isSyncKitError(error, 'payload-too-large')
  )
}
