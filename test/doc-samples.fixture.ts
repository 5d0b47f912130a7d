import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import ts from 'typescript'

/**
 * Test-only: the code samples of README.md and docs/*.md, extracted, compiled and run
 * (`test/doc-samples.int.test.ts`).
 *
 * Every ```ts and ```js block is a whole program by default: it must compile on its own under the
 * strict settings of tsconfig.json with Node's ESM resolution (`nodenext`), importing sync-kit by
 * its public names (`sync-kit`, `sync-kit/http`, …) — against the built declarations an app
 * compiles against (dist/, which `npm test` builds first; far faster to check than the source).
 * Runs resolve the names to the source, through tsconfig.json `paths`. Every ```json block must
 * parse as JSON. An HTML comment on the line(s) right before a ts/js block says otherwise:
 *
 * - `<!-- run -->`: the block is also run (`node --import tsx`, in its doc's sample folder) and
 *   must exit 0 within {@link RUN_TIMEOUT_MS}.
 * - `<!-- run: vitest -->`: the block registers vitest tests (e.g. a conformance suite); the
 *   doc-sample test imports it, so they run as its own.
 * - `<!-- fragment: what it needs, in words` then TypeScript that declares that context (imports,
 *   `declare const manager: SyncManager`, …) and `-->`: the block is compiled after that context.
 *   The reader sees the words in the source of the page; the compiler checks the declarations.
 *
 * Errors are reported by the doc's file and line: `docs/stores.md:42: TS2304 Cannot find name 'db'.`
 */

/** The repository root. */
const ROOT = join(import.meta.dirname, '..')
/** Where the samples are written to be compiled and run: inside the checkout, so `paths` apply. */
export const SAMPLES_DIR: string = join(ROOT, '.tmp', 'doc-samples')

/** How a sample is checked. */
export type SampleKind = 'program' | 'fragment' | 'run' | 'vitest' | 'json'

/** One code block of a doc. */
export interface DocSample {
  /** The doc, relative to the repository root: `docs/stores.md`. */
  readonly doc: string
  /** Line (1-based) of the block's opening fence. */
  readonly line: number
  /** The heading the block stands under, and its number among the blocks there: `Quick start #1`. */
  readonly section: string
  /** The fence's language. */
  readonly lang: 'ts' | 'js' | 'json'
  /** The code between the fences. */
  readonly code: string
  /**
   * `program` (compiled), `fragment` (compiled after its context), `run` (compiled, run),
   * `vitest` (compiled, imported by the test) or `json` (parsed).
   */
  readonly kind: SampleKind
  /** A fragment's words: what it needs. */
  readonly needs: string
  /** A fragment's context: TypeScript compiled before it. */
  readonly context: string
  /** Line (1-based) of the fragment comment's first context line. */
  readonly contextLine: number
}

/** A sample as written to disk. */
export interface WrittenSample {
  readonly sample: DocSample
  readonly file: string
}

/** The docs whose samples are checked: README.md and every docs/*.md. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`)
  return ['README.md', ...docs]
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/
const LANGS: Record<string, 'ts' | 'js' | 'json'> = {
  ts: 'ts',
  typescript: 'ts',
  mts: 'ts',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
  json: 'json',
}

/**
 * The marker right before line `index` (0-based): the HTML comment that ends on the last
 * non-blank line above the fence.
 */
function markerBefore(lines: readonly string[], index: number): { text: string; start: number } {
  let end = index - 1
  while (end >= 0 && (lines[end] ?? '').trim() === '') end--
  if (end < 0 || !(lines[end] ?? '').trim().endsWith('-->')) return { text: '', start: -1 }
  let start = end
  while (start >= 0 && !(lines[start] ?? '').includes('<!--')) start--
  if (start < 0) return { text: '', start: -1 }
  return { text: lines.slice(start, end + 1).join('\n'), start }
}

/** What a marker asks for; `undefined` for no marker (or an HTML comment of another kind). */
function kindOf(marker: string): 'run' | 'vitest' | 'fragment' | undefined {
  const word = /^<!--\s*(run|fragment)\b/.exec(marker)?.[1]
  if (word === 'fragment') return 'fragment'
  if (word === 'run') return /^<!--\s*run:\s*vitest\s*-->$/.test(marker) ? 'vitest' : 'run'
  return undefined
}

/**
 * Extracts the code blocks of one doc.
 * @param doc - its path relative to the root.
 * @param text - its content.
 * @returns its ts/js/json blocks, and `problems`: markers that are malformed or stand before no
 * ts/js block, and fences left open.
 */
export function extractSamples(
  doc: string,
  text: string,
): { samples: DocSample[]; problems: string[] } {
  const lines = text.split('\n')
  const samples: DocSample[] = []
  const problems: string[] = []
  let heading = '(top)'
  let inSection = 0
  for (let i = 0; i < lines.length; i++) {
    const title = /^#{1,6}\s+(.*)$/.exec(lines[i] ?? '')?.[1]
    if (title !== undefined) {
      heading = title.trim()
      inSection = 0
    }
    const open = FENCE.exec(lines[i] ?? '')
    if (open === null) continue
    const fenceIndex = i
    const [, fence = '```', info = ''] = open
    let close = i + 1
    while (close < lines.length) {
      const candidate = (lines[close] ?? '').trim()
      if (candidate.startsWith(fence) && /^[`~]+$/.test(candidate)) break
      close++
    }
    if (close >= lines.length) {
      problems.push(`${doc}:${i + 1}: the code block is never closed`)
      break
    }
    const lang = LANGS[info.toLowerCase()]
    const marker = markerBefore(lines, i)
    const body = lines.slice(i + 1, close).join('\n')
    i = close
    const kind = kindOf(marker.text)
    if (lang === undefined || lang === 'json') {
      if (kind !== undefined) {
        problems.push(
          `${doc}:${marker.start + 1}: a ${kind} marker stands before a non-ts/js block`,
        )
      }
      if (lang === 'json') samples.push(sampleOf(doc, fenceIndex + 1, heading, 'json', body))
      continue
    }
    const section = `${heading} #${++inSection}`
    if (kind === 'fragment') {
      const match = /^<!--\s*fragment:([^\n]*)\n?([\s\S]*?)-->$/.exec(marker.text)
      const needs = (match?.[1] ?? '').trim()
      if (needs === '') {
        problems.push(`${doc}:${marker.start + 1}: a fragment says what it needs: <!-- fragment: …`)
      }
      samples.push({
        ...sampleOf(doc, fenceIndex + 1, section, lang, body),
        kind: 'fragment',
        needs,
        context: match?.[2] ?? '',
        contextLine: marker.start + 2,
      })
      continue
    }
    if (kind === 'run' && !/^<!--\s*run\s*-->$/.test(marker.text)) {
      problems.push(
        `${doc}:${marker.start + 1}: write the run marker as <!-- run --> or <!-- run: vitest -->`,
      )
    }
    samples.push({ ...sampleOf(doc, fenceIndex + 1, section, lang, body), kind: kind ?? 'program' })
  }
  return { samples, problems }
}

function sampleOf(
  doc: string,
  line: number,
  section: string,
  lang: DocSample['lang'],
  code: string,
): DocSample {
  const kind = lang === 'json' ? 'json' : 'program'
  return { doc, line, section, lang, code, kind, needs: '', context: '', contextLine: 0 }
}

/**
 * Every sample of every doc.
 * @param docs - the docs, relative to the root.
 * @returns the samples and the problems of their markers.
 */
export function allSamples(docs: readonly string[] = docFiles()): {
  samples: DocSample[]
  problems: string[]
} {
  const samples: DocSample[] = []
  const problems: string[] = []
  for (const doc of docs) {
    const found = extractSamples(doc, readFileSync(join(ROOT, doc), 'utf8'))
    samples.push(...found.samples)
    problems.push(...found.problems)
  }
  return { samples, problems }
}

/**
 * Parses the json samples; one with `compilerOptions` (a tsconfig.json) is also checked by
 * TypeScript: every option known, with a valid value, and the options consistent (no `module`
 * that its `moduleResolution` refuses, TS5110).
 * @param samples - any samples; those of other languages are left alone.
 * @returns one line per problem, by the block's place in the doc.
 */
export function parseJsonSamples(samples: readonly DocSample[]): string[] {
  return samples
    .filter((sample) => sample.kind === 'json')
    .flatMap((sample) => {
      const where = `${sample.doc}:${sample.line}`
      let value: unknown
      try {
        value = JSON.parse(sample.code)
      } catch (error) {
        return [`${where}: the json block does not parse: ${String(error)}`]
      }
      const options = (value as { compilerOptions?: unknown } | null)?.compilerOptions
      if (options === undefined) return []
      const converted = ts.convertCompilerOptionsFromJson(options, ROOT)
      const program = ts.createProgram({ rootNames: [], options: converted.options })
      return [...converted.errors, ...program.getOptionsDiagnostics()].map(
        (diagnostic) =>
          `${where}: tsconfig TS${diagnostic.code} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`,
      )
    })
}

/** A sample whose first line names a file (`// map-store.ts`) is written under that name. */
const NAMED = /^\/\/ ([\w.-]+\.(?:ts|mts|js|mjs))\s*$/

/** The folder of a doc's samples: `docs-stores`. */
function folderOf(doc: string): string {
  return doc.replace(/\.md$/, '').replace(/[/\\]/g, '-')
}

/**
 * Writes each ts/js sample as a module, in one folder per doc under `dir`: as the file its first
 * line names (`// map-store.ts`, so a later sample of the doc can import `./map-store.js`), else
 * as `L<line>.ts`. A fragment's context comes first; `export {}` last when it has no import or
 * export, so top-level await works and its names stay its own. `dir` is emptied first.
 * @param samples - the samples; json ones are left out.
 * @param dir - where to write, inside the checkout (so tsconfig.json `paths` apply).
 * @returns where each went, and `problems`: two samples of one doc that name the same file.
 */
export function writeSamples(
  samples: readonly DocSample[],
  dir: string = SAMPLES_DIR,
): { written: WrittenSample[]; problems: string[] } {
  rmSync(dir, { recursive: true, force: true })
  const problems: string[] = []
  const taken = new Set<string>()
  const written = samples
    .filter((sample) => sample.kind !== 'json')
    .map((sample) => {
      const named = NAMED.exec(sample.code.split('\n')[0] ?? '')?.[1]
      const name = named ?? `L${sample.line}.${sample.lang === 'ts' ? 'ts' : 'mjs'}`
      const file = join(dir, folderOf(sample.doc), name)
      if (taken.has(file)) {
        problems.push(`${sample.doc}:${sample.line}: a second sample named ${name}`)
      }
      taken.add(file)
      mkdirSync(dirname(file), { recursive: true })
      const source = `${sample.context}${sample.context === '' ? '' : '\n'}${sample.code}\n`
      const isModule = /^\s*(import|export)\s/m.test(source)
      writeFileSync(file, isModule ? source : `${source}export {}\n`)
      return { sample, file }
    })
  return { written, problems }
}

/** How long a `<!-- run -->` sample may take, in ms. */
export const RUN_TIMEOUT_MS = 60_000

/**
 * Runs a written sample as a reader would (`node --import tsx`), in its doc's folder, so files
 * it creates land there.
 * @param written - the sample and its file.
 * @returns its output; a rejection with the sample's place and its output when it exits non-zero
 * or runs longer than {@link RUN_TIMEOUT_MS}.
 */
export async function runSample(written: WrittenSample): Promise<string> {
  const { sample, file } = written
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], {
      cwd: dirname(file),
      encoding: 'utf8',
      timeout: RUN_TIMEOUT_MS,
      env: Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !/^(VITEST|NODE_OPTIONS$)/.test(name)),
      ),
    })
    return stdout
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(
      `${sample.doc}:${sample.line}: the <!-- run --> sample failed: ${String(error)}\n${stdout}${stderr}`,
      { cause: error },
    )
  }
}

/** The newest modification time of the library's source files under `dir`, and which file. */
function newestSource(dir: string): { file: string; ms: number } {
  let newest = { file: '', ms: 0 }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const found = entry.isDirectory()
      ? newestSource(path)
      : /(?<!\.test|\.test-d|\.fixture)\.ts$/.test(entry.name)
        ? { file: path, ms: statSync(path).mtimeMs }
        : newest
    if (found.ms > newest.ms) newest = found
  }
  return newest
}

/**
 * The package's public names mapped to their built declarations (package.json `exports`,
 * condition `import`), as an app resolves them.
 * @returns `paths` for the compiler.
 * @throws Error when dist/ is missing or older than a source file: run `npm run build`.
 */
function builtDeclarations(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, { import?: { types: string } } | string>
  }
  const paths: Record<string, string[]> = {}
  let oldest = Infinity
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || target.import === undefined) continue
    const file = join(ROOT, target.import.types)
    let ms: number
    try {
      ms = statSync(file).mtimeMs
    } catch {
      throw new Error(
        `${relative(ROOT, file)} is missing: run npm run build (npm test builds first)`,
      )
    }
    oldest = Math.min(oldest, ms)
    paths[key === '.' ? 'sync-kit' : `sync-kit/${key.slice(2)}`] = [file]
  }
  const newest = newestSource(join(ROOT, 'src'))
  if (newest.ms > oldest) {
    throw new Error(
      `dist/ is older than ${relative(ROOT, newest.file)}: the samples compile against the built declarations, so run npm run build (npm test builds first)`,
    )
  }
  return paths
}

/**
 * The compiler options the samples compile with: those of tsconfig.json — every strict setting —
 * with Node's ESM resolution, the strictest of the settings docs/getting-started.md names (an
 * import that compiles under `nodenext` compiles under `bundler`), and the public names mapped to
 * the built declarations when a sample imports them.
 * @param imports - whether a sample imports sync-kit.
 */
function compilerOptions(imports: boolean): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))
      },
    },
  )
  if (parsed === undefined) throw new Error('tsconfig.json could not be read')
  return {
    ...parsed.options,
    paths: imports ? builtDeclarations() : {},
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    // isolatedDeclarations (and the declaration output it checks) is this library's rule for its
    // own exports, not a setting an app's code needs.
    isolatedDeclarations: false,
    declaration: false,
    noEmit: true,
    allowJs: true,
    checkJs: true,
  }
}

/**
 * Compiles the written samples in one program (one program over every block is far faster than
 * one per block).
 * @param written - from {@link writeSamples}.
 * @returns one line per error, `docs/stores.md:42: TS2304 Cannot find name 'db'.`, by the line in
 * the doc (a fragment's context by the line in its comment), sorted by doc and line.
 */
export function compileSamples(written: readonly WrittenSample[]): string[] {
  const program = ts.createProgram(
    written.map((w) => w.file),
    compilerOptions(
      written.some((w) => /\bfrom\s+'sync-kit[/']/.test(w.sample.code + w.sample.context)),
    ),
  )
  const byFile = new Map(written.map((w) => [w.file, w.sample]))
  const errors: { where: string; line: number; text: string }[] = []
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = `TS${diagnostic.code} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`
    const file = diagnostic.file
    const sample = file === undefined ? undefined : byFile.get(file.fileName)
    if (file === undefined || sample === undefined) {
      const where = file === undefined ? 'compiler' : relative(ROOT, file.fileName)
      errors.push({ where, line: 0, text: `${where}: ${message}` })
      continue
    }
    const line = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1
    const contextLines = sample.context === '' ? 0 : sample.context.split('\n').length
    const docLine =
      line <= contextLines ? sample.contextLine + line - 1 : sample.line + line - contextLines
    errors.push({ where: sample.doc, line: docLine, text: `${sample.doc}:${docLine}: ${message}` })
  }
  return errors
    .sort((a, b) => a.where.localeCompare(b.where) || a.line - b.line)
    .map((error) => error.text)
}
