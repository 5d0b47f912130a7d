// better-sqlite3 is an optional peer dependency: importing sync-kit/sqlite must not load it, and
// openSqliteStore({ path }) must explain what to install when it is missing.
import { describe, expect, it, vi } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'

const driver = vi.hoisted(() => ({ loads: 0 }))

vi.mock('better-sqlite3', () => {
  driver.loads++
  throw new Error("Cannot find package 'better-sqlite3'")
})

describe('sqlite store: the better-sqlite3 driver', () => {
  it('Given the sqlite entry, When it is imported, Then better-sqlite3 is not loaded', async () => {
    const entry = await import('./index.js')

    expect(typeof entry.openSqliteStore).toBe('function')
    expect(driver.loads).toBe(0)
  })

  it('Given better-sqlite3 is not installed, When a store is opened by path, Then it rejects with missing-dependency naming the package and saying what to install', async () => {
    const { openSqliteStore } = await import('./index.js')

    const error: unknown = await openSqliteStore({ path: ':memory:' }).then(
      () => undefined,
      (e: unknown) => e,
    )

    expect(driver.loads).toBe(1)
    expect(isSyncKitError(error, 'missing-dependency')).toBe(true)
    expect((error as { details?: unknown }).details).toEqual({ dependency: 'better-sqlite3' })
    expect((error as Error).message).toMatch(
      /^\[sync-kit\] \[sqlite\] could not load better-sqlite3.*npm install better-sqlite3/,
    )
    expect((error as Error).cause).toBeInstanceOf(Error)
  })
})
