import { SyncKitError } from '../../errors/sync-kit-error.js'
import { assertNodeId } from '../../versions/hlc-stamp.js'

interface CryptoLike {
  randomUUID?: () => string
  getRandomValues?: (array: Uint8Array) => Uint8Array
}

/**
 * A new random replica id: `crypto.randomUUID()`, or a version 4 UUID made from
 * `crypto.getRandomValues` where `randomUUID` is missing (it exists only in secure contexts, so a
 * page served over plain HTTP from a LAN address has none). 36 characters of `0-9 a-f -`: a valid
 * `SyncManager` `nodeId`.
 * @returns the id.
 * @throws SyncKitError `invalid-argument` when the runtime has no `crypto` (pass
 * `generateReplicaId`).
 */
export function randomReplicaId(): string {
  const crypto = (globalThis as { crypto?: CryptoLike }).crypto
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID()
  if (typeof crypto?.getRandomValues !== 'function') {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-kit] [indexeddb] this runtime has no crypto.getRandomValues to make a replica id; pass generateReplicaId',
      { argument: 'generateReplicaId' },
    )
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * Checks a replica id, new or read back from the database, as a `SyncManager` `nodeId`.
 * @param id - the id.
 * @param prefix - the store's message prefix.
 * @param source - where it came from, for the message.
 * @returns the id.
 * @throws SyncKitError `invalid-argument` (from `generateReplicaId`) or `internal` (from the
 * database).
 */
export function checkReplicaId(
  id: unknown,
  prefix: string,
  source: 'generated' | 'stored',
): string {
  try {
    assertNodeId(id as string)
  } catch (cause) {
    const shown = typeof id === 'string' ? `"${id.slice(0, 80)}"` : typeof id
    if (source === 'generated') {
      throw new SyncKitError(
        'invalid-argument',
        `${prefix} generateReplicaId returned ${shown}; a replica id is 1-64 characters of A-Z a-z 0-9 . _ ~ -`,
        { argument: 'generateReplicaId' },
        { cause },
      )
    }
    throw new SyncKitError(
      'internal',
      `${prefix} the database holds the replica id ${shown}, which is not 1-64 characters of A-Z a-z 0-9 . _ ~ -; it was changed outside sync-kit`,
      {},
      { cause },
    )
  }
  return id as string
}
