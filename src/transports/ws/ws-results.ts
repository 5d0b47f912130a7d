import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { Event, EventWithVersion, Version } from '../../types/index.js'
import { isObject } from './protocol.js'
import { CLIENT } from './ws-connection.js'

/**
 * The client's checks of the server's answers (`result` bodies and live batches): the same
 * shapes as the HTTP wire's bodies, so a foreign or newer server is a `protocol` error, never
 * garbage in a store.
 */

function shapeError(what: string, problem: string): SyncKitError<'protocol'> {
  return new SyncKitError(
    'protocol',
    `${CLIENT} ${what}: unexpected answer (${problem}); are client and server versions compatible?`,
    {},
  )
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
const isText = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 1024

/**
 * One `{event, version}` item of a page or a live batch.
 * @param raw - the item as parsed.
 * @param toVersion - parses the server's version strings.
 * @param what - names the call in messages.
 * @returns the event and its version.
 * @throws SyncKitError `protocol` for another shape or a version `toVersion` refuses.
 */
export function toEventWithVersion(
  raw: unknown,
  toVersion: (value: string) => Version,
  what: string,
): EventWithVersion {
  if (!isObject(raw) || !isText(raw.version) || !isObject(raw.event)) {
    throw shapeError(what, 'an item is not {event, version}')
  }
  const { id, type, aggregateId, data, metadata } = raw.event
  if (typeof id !== 'string' || typeof type !== 'string' || typeof aggregateId !== 'string') {
    throw shapeError(what, 'an event has no string id, type or aggregateId')
  }
  if (metadata !== undefined && !isObject(metadata))
    throw shapeError(what, 'metadata is not an object')
  // Extra keys of a newer server are dropped, as over HTTP.
  const event = (
    metadata === undefined
      ? { id, type, aggregateId, data }
      : { id, type, aggregateId, data, metadata }
  ) as Event
  return { event, version: toVersion(raw.version) }
}

/**
 * The answer to a push.
 * @param result - the `result` body.
 * @returns the counts and the epoch.
 * @throws SyncKitError `protocol` for another shape.
 */
export function checkPushResult(result: unknown): {
  stored: number
  duplicates: number
  epoch: string
} {
  if (
    !isObject(result) ||
    !isCount(result.stored) ||
    !isCount(result.duplicates) ||
    !isText(result.epoch)
  ) {
    throw shapeError('push', 'not {stored, duplicates, epoch, latestVersion}')
  }
  return { stored: result.stored, duplicates: result.duplicates, epoch: result.epoch }
}

/**
 * The answer to a pull.
 * @param result - the `result` body.
 * @param toVersion - parses the server's version strings.
 * @returns the page.
 * @throws SyncKitError `protocol` for another shape.
 */
export function checkPullResult(
  result: unknown,
  toVersion: (value: string) => Version,
): { events: EventWithVersion[]; hasMore: boolean; epoch: string } {
  if (
    !isObject(result) ||
    !Array.isArray(result.events) ||
    typeof result.hasMore !== 'boolean' ||
    !isText(result.epoch)
  ) {
    throw shapeError('pull', 'not {events, hasMore, epoch}')
  }
  return {
    events: result.events.map((item: unknown) => toEventWithVersion(item, toVersion, 'pull')),
    hasMore: result.hasMore,
    epoch: result.epoch,
  }
}

/**
 * The answer to `latest`.
 * @param result - the `result` body.
 * @returns the latest version string and the epoch.
 * @throws SyncKitError `protocol` for another shape.
 */
export function checkLatestResult(result: unknown): { latestVersion: string; epoch: string } {
  if (!isObject(result) || !isText(result.latestVersion) || !isText(result.epoch)) {
    throw shapeError('latestVersion', 'not {latestVersion, epoch}')
  }
  return { latestVersion: result.latestVersion, epoch: result.epoch }
}
