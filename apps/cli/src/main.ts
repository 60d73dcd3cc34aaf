#!/usr/bin/env node
import { CommanderError } from 'commander';

import { EXIT_USAGE, escapeControlCharacters } from './cli-error.js';
import { reportError } from './error-report.js';
import { ManifestError } from './manifest-error.js';
import { useNodeX25519 } from './node-x25519.js';
import { finishStdout, watchStdout } from './output.js';
import { createProgram } from './program.js';

// A failed write to stdout (a full disk, a reader that exited) becomes one error line that
// names what was not written, like every other error.
watchStdout();

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
  try {
    await createProgram().parseAsync(process.argv);
  } catch (error) {
    // Help and version end with a CommanderError of exit code 0 after writing to stdout.
    if (!(error instanceof CommanderError) || error.exitCode !== 0) {
      throw error;
    }
  }
  await finishStdout();
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already wrote the usage error to stderr.
    process.exitCode = EXIT_USAGE;
  } else {
    const report = reportError(error);
    // A manifest error lists one problem per line, with control characters already escaped in
    // each; each line gets the prefix. Any other error is one line.
    const lines =
      error instanceof ManifestError
        ? report.message.split('\n')
        : [escapeControlCharacters(report.message)];
    for (const line of lines) {
      process.stderr.write(`provisions: ${line}\n`);
    }
    process.exitCode = report.exitCode;
  }
}
