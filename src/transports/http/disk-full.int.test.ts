// A real full disk (issue 10): the server's SQLite file on a small tmpfs that a filler file fills
// up. Pushes answer 503 `unavailable` naming the full disk, `/v1/health` says the store cannot
// write, and once the filler is gone both recover without a restart. Mounting needs root (or a
// user namespace); where it is not allowed the test is skipped with the reason. The same path is
// covered everywhere by the injected SQLITE_FULL of server-storage.test.ts.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { openSqliteStore } from '../../stores/sqlite/index.js'
import { serve } from './node.js'
import { createSyncHandler } from './sync-handler.js'
import { makeEvent, postEvents } from './test-helpers.fixture.js'

const mountPoint = mkdtempSync(join(tmpdir(), 'sync-kit-disk-full-'))

/** Mounts a 2 MiB tmpfs; the reason it could not, or `undefined` when it did. */
function mountSmallDisk(): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux'
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], {
      stdio: 'pipe',
    })
    return undefined
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim()
    return `cannot mount a tmpfs here (${stderr === undefined || stderr === '' ? String(error) : stderr})`
  }
}

const skipReason = mountSmallDisk()
afterAll(() => {
  if (skipReason === undefined) {
    try {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' })
    } catch {
      // Left for the system to clean up; the directory is in the temp dir.
    }
  }
  rmSync(mountPoint, { recursive: true, force: true })
})

/** Writes a file until the filesystem is full. */
function fill(path: string): void {
  const block = Buffer.alloc(64 * 1024, 1)
  let size = 0
  for (;;) {
    try {
      writeFileSync(path, block, { flag: size === 0 ? 'w' : 'a' })
      size += block.byteLength
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOSPC') return
      throw error
    }
  }
}

const push = postEvents

describe('a real full disk under the sync server', () => {
  it.skipIf(skipReason !== undefined)(
    `Given the server's SQLite file on a full 2 MiB tmpfs, When a client pushes, Then 503 names the full disk, health is 503, and both recover once space is freed${skipReason === undefined ? '' : ` (skipped: ${skipReason})`}`,
    async () => {
      const store = await openSqliteStore({ path: join(mountPoint, 'sync.db') })
      const server = await serve({ handler: createSyncHandler({ store }), port: 0 })
      try {
        expect((await push(server.url, [makeEvent('first')])).status).toBe(200)
        const filler = join(mountPoint, 'filler')
        fill(filler)
        const batch = Array.from({ length: 100 }, (_, i) =>
          makeEvent(`big-${i}`, { data: 'x'.repeat(4000) }),
        )

        const refused = await push(server.url, batch)
        const health = await fetch(`${server.url}/v1/health`)

        expect(refused.status).toBe(503)
        expect(refused.headers.get('retry-after')).not.toBeNull()
        const { error } = (await refused.json()) as { error: { code: string; message: string } }
        expect(error).toMatchObject({ code: 'unavailable' })
        expect(error.message).toContain('SQLITE_FULL')
        expect(error.message).toMatch(/disk .* is full/)
        expect(health.status).toBe(503)

        unlinkSync(filler)
        await new Promise((resolve) => setTimeout(resolve, 1100)) // the health probe interval
        expect((await fetch(`${server.url}/v1/health`)).status).toBe(200)
        const stored = await push(server.url, batch)
        expect(await stored.json()).toMatchObject({ stored: 100, latestVersion: '101' })
      } finally {
        await server.close()
        await store.close()
      }
    },
    30_000,
  )
})
