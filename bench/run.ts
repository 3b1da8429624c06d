/**
 * The benchmark runner: `npm run bench -- NAME` runs `bench/NAME.ts`'s exported `run()`, which
 * prints a readable table and returns its figures; the runner then prints those figures as one JSON
 * object on the LAST line of stdout (what CI parses).
 *
 * Benchmarks never assert: they print figures, and ratios against a baseline measured in the same run.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printResult } from './lib.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));

/** Every `bench/*.ts` except the runner, the shared helpers and worker scripts (`*-worker.ts`). */
export function listBenchmarks(): string[] {
  return readdirSync(dir)
    .filter(
      (f) =>
        f.endsWith('.ts') &&
        !f.endsWith('.d.ts') &&
        f !== 'run.ts' &&
        f !== 'lib.ts' &&
        !f.endsWith('-worker.ts'),
    )
    .map((f) => f.slice(0, -3))
    .sort();
}

const usage = 'usage: npm run bench -- NAME   (or: npx tsx bench/run.ts NAME)';

function help(names: string[]): string {
  return [
    usage,
    '',
    'Runs bench/NAME.ts: it prints a readable table of measurements, then this runner prints the',
    'figures as one JSON object on the last line of stdout. Benchmarks do not assert anything; every',
    'ratio is against a baseline measured in the same run, on the same machine.',
    '',
    `available benchmarks: ${names.join(', ') || '(none)'}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const names = listBenchmarks();
  const args = argv.filter((a) => a !== '--');
  if (args.includes('--help') || args.includes('-h')) {
    console.log(help(names));
    return 0;
  }
  const name = args[0];
  if (!name) {
    console.error(`${usage}\navailable benchmarks: ${names.join(', ') || '(none)'}`);
    return 2;
  }
  if (args.length > 1) {
    console.error(`unexpected arguments: ${args.slice(1).join(' ')}\n${usage}`);
    return 2;
  }
  if (!names.includes(name)) {
    console.error(`unknown benchmark '${name}'; known: ${names.join(', ') || '(none)'}\n${usage}`);
    return 2;
  }
  const mod = (await import(pathToFileURL(path.join(dir, `${name}.ts`)).href)) as {
    run?: () => Promise<Record<string, unknown>>;
  };
  if (typeof mod.run !== 'function') {
    console.error(`bench/${name}.ts exports no run() function`);
    return 2;
  }
  const result = await mod.run();
  printResult(result);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
