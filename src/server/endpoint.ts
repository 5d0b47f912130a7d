import { SyncKitError } from '../errors/sync-kit-error.js'
import type { AccessPolicy } from './access.js'
import type { OriginPolicy } from './origins.js'
import type { SyncServer } from './sync-server.js'

/** Live subscriptions open at once across every wire of one endpoint, and their limit. */
export interface LiveSlots {
  /** Most live subscriptions open at once (SSE streams and WebSocket subscriptions together). */
  readonly max: number
  /** Open or opening; taken before the first await, so the limit is exact. */
  taken: number
}

/** One request's share of a {@link ByteBudget}. */
export interface ByteLease {
  /**
   * Takes `bytes` more: `undefined` while the budget has room, else a promise that resolves once
   * it has, or rejects with `unavailable` after the budget's wait.
   * @param bytes - bytes already in memory.
   * @returns `undefined`, or a promise to await before going on.
   */
  take(bytes: number): Promise<void> | undefined
  /** Gives back everything this lease holds. Idempotent. */
  release(): void
}

/** A global budget of request bytes held in memory at once, across every wire. */
export interface ByteBudget {
  /** The most bytes held at once: a request larger than this can never be admitted. */
  readonly limit: number
  /**
   * Opens a lease for one request.
   * @returns the lease.
   */
  open(): ByteLease
}

/** The optional fields of one log record (see the HTTP adapter's `SyncLogEntry`). */
export interface EndpointLogDraft {
  level?: 'info' | 'warn' | 'error'
  status?: number
  code?: string
  message?: string
  events?: number
  stored?: number
  duplicates?: number
  tenant?: string
  stream?: 'open' | 'closed'
}

/**
 * One remote as every wire serves it: the server core, who may call it (the same `authorize` and
 * `tenantOf`), and the limits that are the remote's rather than one wire's (the access policy, the
 * live subscriptions, the bytes of requests held at once, the heartbeat), its write health and its
 * log. The HTTP handler builds one (`handler.endpoint`); a second wire on the same server (the
 * WebSocket server of `sync-kit/ws/node`) maps its messages onto it, so both wires share one core:
 * one epoch, one fan-out, one set of limits.
 */
export interface SyncEndpoint {
  /** The server core. */
  readonly server: SyncServer
  /** The limits of pushes and pages, and the tenant rules. */
  readonly access: AccessPolicy
  /**
   * Authenticates a request: the endpoint's `authorize`, then `tenantOf`.
   * @param request - the request (for a WebSocket, built from its upgrade request and hello).
   * @returns the principal's tenant, `undefined` for an unscoped principal.
   * @throws SyncKitError `unauthorized`, `forbidden` (what `authorize` throws), `internal` for a
   * `tenantOf` that returns something other than a non-empty string.
   */
  authenticate(request: Request): Promise<string | undefined>
  /**
   * The browser origins that may call (the HTTP handler's `cors.origins`): HTTP answers them with
   * CORS headers, the WebSocket server refuses an upgrade from any other origin.
   */
  readonly origins: OriginPolicy
  /** The live subscriptions of every wire and their limit. */
  readonly liveSlots: LiveSlots
  /** Bytes of pushes held in memory at once, across every wire. */
  readonly bodyBudget: ByteBudget
  /**
   * The largest push a wire accepts, in bytes of its encoded request (the HTTP handler's
   * `maxBodyBytes`): the WebSocket server's default message limit, so both wires refuse alike.
   */
  readonly maxBodyBytes: number
  /** Idle time before a live connection sends a heartbeat, in ms. */
  readonly heartbeatMs: number
  /** True once the endpoint shuts down: new requests are refused with `unavailable`. */
  readonly closing: boolean
  /**
   * Records the outcome of a push's write, for the health check.
   * @param error - what the write threw; absent for a write that stored events.
   */
  recordWrite(error?: unknown): void
  /**
   * Writes one log record, if the endpoint has a logger.
   * @param request - the request (its method and path are logged, never its query).
   * @param started - when it started, by the endpoint's clock.
   * @param entry - the record's fields.
   */
  log(request: Request, started: number, entry: EndpointLogDraft): void
  /** The endpoint's clock, for log times. */
  now(): number
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions<TPrincipal> {
  /** Authenticates a request; throws `unauthorized` or `forbidden` to refuse it. */
  readonly authorize?: ((request: Request) => Promise<TPrincipal>) | undefined
  /** The tenant a principal belongs to; `undefined` means unscoped. */
  readonly tenantOf?: ((principal: TPrincipal) => string | undefined) | undefined
  /** Names the adapter in messages. */
  readonly component: string
}

/**
 * The one principal resolution of every wire: `authorize`, then `tenantOf`.
 * @param options - the hooks and the component.
 * @returns the endpoint's `authenticate`.
 */
export function createAuthenticator<TPrincipal>(
  options: AuthenticatorOptions<TPrincipal>,
): (request: Request) => Promise<string | undefined> {
  const { authorize, tenantOf, component } = options
  return async (request) => {
    const principal = (authorize === undefined ? undefined : await authorize(request)) as TPrincipal
    const tenant = tenantOf?.(principal)
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '')) {
      throw new SyncKitError(
        'internal',
        `[sync-kit] [${component}] tenantOf must return a non-empty string`,
        {},
      )
    }
    return tenant
  }
}
