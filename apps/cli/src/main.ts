#!/usr/bin/env node
import { CommanderError } from 'commander';

import { EXIT_USAGE } from './cli-error.js';
import { reportError } from './error-report.js';
import { useNodeX25519 } from './node-x25519.js';
import { createProgram } from './program.js';

// A reader that stops early (`| head`) closes stdout; that is not an error of the command.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') {
    process.exit(process.exitCode ?? 0);
  }
  throw error;
});

// Benchmarks read the peak resident memory and the CPU time of this process from this line.
if (process.env.PROVISIONS_REPORT_RESOURCES === '1') {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    const report = {
      max_rss_kb: usage.maxRSS,
      user_cpu_ms: Math.round(usage.userCPUTime / 1000),
      system_cpu_ms: Math.round(usage.systemCPUTime / 1000),
    };
    process.stderr.write(`resources: ${JSON.stringify(report)}\n`);
  });
}

try {
  await useNodeX25519();
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already wrote the help or the usage error to the terminal.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    const report = reportError(error);
    // A manifest error lists one problem per line; each line gets the prefix.
    for (const line of report.message.split('\n')) {
      process.stderr.write(`provisions: ${line}\n`);
    }
    process.exitCode = report.exitCode;
  }
}
