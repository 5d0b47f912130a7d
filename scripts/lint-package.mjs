// `npm run lint:package`: publint --strict and attw (its strict profile: node10, node16 from CJS
// and ESM, bundler) on one tarball of the package as it would be published. Prints one line when
// both pass, and their whole reports when either finds anything.
//
// It lints the dist/ of the last build (`npm test` builds first) and packs it once with
// `--ignore-scripts`: `attw --pack` and publint each ran `npm pack`, whose `prepack` script rebuilt
// the package twice per run. attw's table also listed every subpath under node10 as
// "(ignored) 💀 Resolution failed" even with `--profile node16`, because node10 resolution ignores
// `exports`; package.json `typesVersions` now maps each subpath to its declarations, so node10
// resolves them too and the check runs with the strict profile.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const bin = (name) => join(root, 'node_modules', '.bin', name)

if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('lint:package: dist/ is missing; run npm run build first')
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'sync-kit-lint-package-'))
try {
  const packed = execFileSync(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const [{ filename, name, version, entryCount }] = JSON.parse(packed)
  const tarball = join(dir, filename)
  const tool = (program, args) => spawnSync(bin(program), args, { cwd: root, encoding: 'utf8' })

  const publint = tool('publint', ['run', tarball, '--strict'])
  const publintOk = publint.status === 0 && /All good!/.test(publint.stdout)

  const attw = tool('attw', [tarball, '--format', 'json'])
  let report
  try {
    report = JSON.parse(attw.stdout)
  } catch {
    report = undefined
  }
  const problems = report?.analysis?.problems ?? [{ kind: 'no report' }]
  const attwOk = attw.status === 0 && problems.length === 0

  if (publintOk && attwOk) {
    const subpaths = Object.keys(report.analysis.entrypoints).length
    const resolutions = Object.keys(Object.values(report.analysis.entrypoints)[0].resolutions)
    console.log(
      `lint:package: ${name}@${version} (${entryCount} files) passes publint --strict and attw: ${subpaths} subpaths resolve under ${resolutions.join(', ')}`,
    )
  } else {
    if (!publintOk) process.stdout.write(publint.stdout + publint.stderr)
    if (!attwOk) {
      const table = tool('attw', [tarball])
      process.stdout.write(table.stdout + table.stderr)
    }
    process.exitCode = 1
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
