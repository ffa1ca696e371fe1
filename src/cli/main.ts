#!/usr/bin/env node
import { loadConfig } from '../config/config.js';
import { describeError, isKomaError } from '../domain/errors.js';
import { runComposeCommand } from './compose-command.js';
import { runModelsCommand } from './models-command.js';
import { runRenderCommand } from './render-command.js';
import { UsageError } from './usage-error.js';

/**
 * `koma <command>`: the offline tools. Each command lives in its own module;
 * this file only dispatches and turns errors into one line and an exit code
 * (1 for bad input, 2 for bad usage, 3 when text did not fit, 70 for a bug).
 */

export const USAGE = `usage: koma <command> [options]

commands:
  render <story.json | folder> [--out DIR] [--renderer auto|storyboard|diffusion] [--quiet]
      render every panel, compose the pages, write page-NNN.png + page-NNN.layout.json + story.json
  compose <page.json> --out page.png [--layout layout.json]
      lay out and letter one page from finished panel images (exit 3 if some text did not fit)
  models list | verify <id> | import <optimum-export-dir> [--id ID] | pull <id>
      manage diffusion models in models/ (see models/README.md)

run 'koma <command> --help' for a command's options.`;

export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return command ? 0 : 2;
    }
    const config = loadConfig(env);
    switch (command) {
      case 'render':
        return await runRenderCommand(rest, config);
      case 'compose':
        return await runComposeCommand(rest);
      case 'models':
        return await runModelsCommand(rest, config);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`koma: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`koma: error: ${describeError(error)}\n`);
    if (!isKomaError(error) && env.KOMA_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    return isKomaError(error) ? 1 : 70;
  }
}

// Run when executed directly (tsx src/cli/main.ts …), not when imported by tests.
const invokedPath = process.argv[1] ?? '';
if (invokedPath.endsWith('cli/main.ts') || invokedPath.endsWith('cli/main.js')) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`koma: error: ${describeError(error)}\n`);
      process.exitCode = 70;
    },
  );
}
