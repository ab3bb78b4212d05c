#!/usr/bin/env node
/**
 * The split-driver command line. Exit status: 0 success, 1 when `check`
 * finds a breach, 2 on bad input or usage; errors are one line, no stack.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { InputError } from '../errors.js';
import { commands } from './commands/index.js';
import { fail } from './io.js';

async function main(): Promise<void> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('split-driver')
    .parserConfiguration({ 'populate--': true })
    .strict()
    .demandCommand(1, 'name a command: analyze, check, emit, profile or udaemon')
    .recommendCommands()
    .help()
    .version()
    // Unwrapped when piped: yargs would break words in the narrow description column.
    .wrap(process.stdout.isTTY ? Math.min(120, process.stdout.columns) : null)
    .fail((msg, err) => {
      // yargs reports usage mistakes here; errors thrown by a command arrive as err.
      if (err) throw err;
      fail(msg, 2);
    });
  for (const c of commands) cli = cli.command(c);
  await cli.parseAsync();
}

main().catch((err: unknown) => {
  if (err instanceof InputError) fail(err.location, 2);
  const e = err as Error;
  if (process.env.SPLIT_DRIVER_DEBUG) console.error(e.stack);
  fail(`internal error: ${e?.message ?? String(err)} (set SPLIT_DRIVER_DEBUG=1 for a stack trace)`, 70);
});
