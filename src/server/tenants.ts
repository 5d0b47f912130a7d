import { SyncKitError } from '../errors/sync-kit-error.js'
import type { Event, Filter } from '../types/index.js'

/**
 * Confines a read to the principal's tenant. The caller's own `tenant` filters must name that
 * tenant (same-key filters are OR-ed, so keeping another tenant's filter would widen the read).
 * @param filters - the caller's filters.
 * @param tenant - the principal's tenant; `undefined` for an unscoped principal.
 * @param component - names the component in the message.
 * @returns the filters with the tenant's.
 * @throws SyncKitError `forbidden` when a filter names another tenant.
 */
export function scopeFilters(
  filters: readonly Filter[],
  tenant: string | undefined,
  component: string,
): readonly Filter[] {
  if (tenant === undefined) return filters
  const scoped: Filter[] = []
  for (const filter of filters) {
    if (filter.key !== 'tenant') scoped.push(filter)
    else if (filter.value !== tenant) {
      throw new SyncKitError(
        'forbidden',
        `[sync-kit] [${component}] you may only read your own tenant's events`,
        {},
      )
    }
  }
  scoped.push({ key: 'tenant', value: tenant })
  return scoped
}

/**
 * Applies the tenant rules to one pushed event: an event of another tenant is refused; one
 * without a tenant gets the principal's, or is refused with `requireTenant`.
 * @param event - a validated event.
 * @param index - its position in the push, for the message.
 * @param tenant - the principal's tenant; `undefined` for an unscoped principal.
 * @param requireTenant - refuse an event that names no tenant instead of stamping it.
 * @param component - names the component in messages.
 * @returns the event to store.
 * @throws SyncKitError `invalid-event` (field `metadata.tenant`), `forbidden`.
 */
export function stampTenant(
  event: Event,
  index: number,
  tenant: string | undefined,
  requireTenant: boolean,
  component: string,
): Event {
  if (tenant === undefined) return event
  const named = event.metadata?.tenant
  if (named === undefined && requireTenant) {
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [${component}] events[${index}] has no metadata.tenant; this server requires each event to name its tenant ("${tenant.slice(0, 100)}") — nothing from this push was stored`,
      { eventId: event.id, field: 'metadata.tenant' },
    )
  }
  if (named === undefined) return { ...event, metadata: { ...event.metadata, tenant } }
  if (named !== tenant) {
    throw new SyncKitError(
      'forbidden',
      `[sync-kit] [${component}] events[${index}] names another tenant in metadata.tenant; omit it or use your own tenant — nothing from this push was stored`,
      {},
    )
  }
  return event
}
