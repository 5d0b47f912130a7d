// `npm run bench`: installs the benchmark's peers on demand, then runs bench/run.ts.
//
// The peers are the dependencies of bench/package.json, a package of its own with its own
// package-lock.json, so `npm ci` at the root installs only what the library, its tests and its
// demos need. Before a run, the peers bench/node_modules lacks (or holds at another version than
// the lock) are installed with `npm ci` in bench/, and the run says so: logux and emmett always;
// the optional ones (emmett-sqlite and its native sqlite3 driver, which builds from source for a
// few minutes) only for a full run — a `--quick` run leaves them out (`--omit=optional`), so the
// smoke test in `npm test` stays fast. A peer that still does not install or load becomes a
// "not measured: why" row, never a failed run.
//
// Usage: npm run bench [-- --quick] [-- --out file] [-- --chart file] (see bench/run.ts).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const bench = dirname(fileURLToPath(import.meta.url))
const root = dirname(bench)
const quick = process.argv.includes('--quick')

/** The peers the lock pins that bench/node_modules lacks or holds at another version. */
function missingPeers(names, lock) {
  return names.filter((name) => {
    const file = join(bench, 'node_modules', name, 'package.json')
    if (!existsSync(file)) return true
    const { version } = JSON.parse(readFileSync(file, 'utf8'))
    return version !== lock.packages[`node_modules/${name}`]?.version
  })
}

const lock = JSON.parse(readFileSync(join(bench, 'package-lock.json'), 'utf8'))
const { dependencies = {}, optionalDependencies = {} } = lock.packages['']
const wanted = Object.keys(dependencies).filter((name) => !(name in optionalDependencies))
if (!quick) wanted.push(...Object.keys(optionalDependencies))
const missing = missingPeers(wanted, lock)
if (missing.length > 0) {
  const omit = quick ? ['--omit=optional'] : []
  console.error(
    `[bench] installing the benchmark's peers into bench/node_modules (npm ci ${omit.join(' ')}in ` +
      `bench/; ${quick ? 'a quick run leaves out the optional emmett-sqlite and sqlite3' : 'sqlite3 builds from source, which takes a few minutes'}): ${missing.join(', ')}`,
  )
  const started = Date.now()
  const npm = process.env.npm_execpath
  const [command, args] =
    npm === undefined || !npm.endsWith('.js') ? ['npm', []] : [process.execPath, [npm]]
  const install = spawnSync(command, [...args, 'ci', ...omit, '--no-audit', '--no-fund'], {
    cwd: bench,
    // npm's own output goes to stderr: stdout is the benchmark's table.
    stdio: ['ignore', process.stderr, process.stderr],
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  if (install.status === 0) console.error(`[bench] peers installed in ${seconds} s`)
  else {
    console.error(
      `[bench] installing the peers failed (${install.error?.message ?? `exit ${install.status}`}, ` +
        `${seconds} s); the run goes on and reports the missing peers as not measured`,
    )
  }
}

const run = spawnSync(
  process.execPath,
  [
    '--expose-gc',
    '--max-old-space-size=8192',
    '--import',
    'tsx',
    join('bench', 'run.ts'),
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit' },
)
process.exit(run.status ?? 1)
