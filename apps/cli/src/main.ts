#!/usr/bin/env node
import { CommanderError } from 'commander';

import { EXIT_USAGE } from './cli-error.js';
import { reportError } from './error-report.js';
import { createProgram } from './program.js';

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already wrote the help or the usage error to the terminal.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    const report = reportError(error);
    process.stderr.write(`provisions: ${report.message}\n`);
    process.exitCode = report.exitCode;
  }
}
