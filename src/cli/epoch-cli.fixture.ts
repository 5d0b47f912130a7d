// Runs `sync-kit …` in-process for the epoch command's tests, collecting its JSON records.
import { runCli } from './run-cli.js'

/**
 * Runs the CLI with `argv` and collects what it wrote.
 * @param argv - the arguments after `sync-kit`.
 * @returns the exit code, the raw lines and the parsed records.
 */
export async function epochCli(
  argv: string[],
): Promise<{ code: number; lines: string[]; records: Record<string, unknown>[] }> {
  const lines: string[] = []
  const code = await runCli(argv, {
    stdout: (line) => lines.push(line),
    stderr: (line) => lines.push(line),
    onSignal: () => () => undefined,
    exit: () => undefined,
    version: '9.9.9-test',
  })
  return { code, lines, records: lines.map((line) => JSON.parse(line) as Record<string, unknown>) }
}
