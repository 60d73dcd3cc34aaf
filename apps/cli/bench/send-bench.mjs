// Benchmark of `provisions send --manifest` and `provisions redeem`.
//
// 1. Sends BENCH_RECIPIENTS recipients (default 10,000), one box with one
//    message each, to a server running in another process, and measures the
//    CLI's wall time and peak resident memory (VmHWM from /proc, and
//    process.resourceUsage().maxRSS reported by the CLI).
// 2. Sends one recipient BENCH_REDEEM_BOXES boxes (default 1,000), then times
//    `provisions redeem` of that link, from process start to exit.
//
// The keystore uses the default scrypt cost (2^17), as in production.
// Usage: pnpm --filter @provisions/cli bench
// BENCH_CPU_PROF=DIR writes V8 CPU profiles of the CLI and the server to DIR
// (`node --cpu-prof`); the profiler slows both processes down.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cliPath = join(here, '..', 'dist', 'main.js');
const recipients = Number(process.env.BENCH_RECIPIENTS ?? 10_000);
const redeemBoxes = Number(process.env.BENCH_REDEEM_BOXES ?? 1_000);
const concurrency = process.env.BENCH_CONCURRENCY;
const profileDir = process.env.BENCH_CPU_PROF;
const profileArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];

function startProcess(args, env = {}) {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Returns the user and system CPU time a process has used so far, in milliseconds. */
async function readCpuMs(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, in clock ticks of 10 ms.
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

async function readPeakKb(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/** Runs the CLI, sampling VmHWM every 50 ms, and returns its output, wall time and peaks. */
async function runCli(args, env) {
  const started = process.hrtime.bigint();
  const cli = startProcess([...profileArgs, cliPath, ...args], {
    ...env,
    PROVISIONS_REPORT_RESOURCES: '1',
  });
  let peakKb = 0;
  const sampler = setInterval(async () => {
    peakKb = Math.max(peakKb, await readPeakKb(cli.child.pid));
  }, 50);
  const code = await cli.exited;
  clearInterval(sampler);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const line = /^resources: (.*)$/m.exec(cli.stderr());
  const report = line === null ? {} : JSON.parse(line[1]);
  if (code !== 0) {
    throw new Error(`provisions ${args[0]} exited with ${code}: ${cli.stderr().slice(-2000)}`);
  }
  return {
    stdout: cli.stdout(),
    seconds,
    peakKb: Math.max(peakKb, report.max_rss_kb ?? 0),
    cpuMs: (report.user_cpu_ms ?? 0) + (report.system_cpu_ms ?? 0),
  };
}

const workDir = await mkdtemp(join(tmpdir(), 'provisions-bench-'));
const server = startProcess([
  ...profileArgs,
  join(here, 'bench-server.mjs'),
  join(workDir, 'server'),
]);
try {
  while (!server.stdout().includes('\n')) {
    if (server.child.exitCode !== null) {
      throw new Error(`the server did not start: ${server.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const credentials = JSON.parse(server.stdout().split('\n')[0]);
  const env = {
    PROVISIONS_SERVER: credentials.url,
    PROVISIONS_ORG_ID: credentials.id,
    PROVISIONS_CLIENT_SECRET: credentials.client_secret,
    PROVISIONS_KEYSTORE_PASSPHRASE: 'benchmark passphrase',
  };

  const manifest = join(workDir, 'recipients.csv');
  const lines = ['email,title,message'];
  for (let index = 0; index < recipients; index += 1) {
    lines.push(`person${index}@example.com,Welcome,Hello person ${index}.`);
  }
  await writeFile(manifest, `${lines.join('\n')}\n`);

  const serverCpuBefore = await readCpuMs(server.child.pid);
  const send = await runCli(
    [
      'send',
      '--manifest',
      manifest,
      '--keystore',
      join(workDir, 'keystore.json'),
      ...(concurrency === undefined ? [] : ['--concurrency', concurrency]),
    ],
    env,
  );
  const serverCpuAfter = await readCpuMs(server.child.pid);
  const serverCpuMs =
    serverCpuAfter.user + serverCpuAfter.system - serverCpuBefore.user - serverCpuBefore.system;

  const redeemManifest = join(workDir, 'many-boxes.csv');
  const boxLines = ['email,title,message'];
  for (let index = 0; index < redeemBoxes; index += 1) {
    boxLines.push(`reader@example.com,Box ${index},Message ${index}`);
  }
  await writeFile(redeemManifest, `${boxLines.join('\n')}\n`);
  const sendBoxes = await runCli(
    [
      'send',
      '--manifest',
      redeemManifest,
      '--keystore',
      join(workDir, 'keystore.json'),
      '--print-links',
    ],
    env,
  );
  const link = sendBoxes.stdout.trim().split('\n')[1].split(',')[1];

  await fetch(`${credentials.url}/auth/email-codes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'reader@example.com' }),
  });
  const outbox = (await readFile(join(workDir, 'server', 'outbox.jsonl'), 'utf8'))
    .trim()
    .split('\n');
  const code = JSON.parse(outbox[outbox.length - 1]).code;
  const redeem = await runCli(
    ['redeem', link, '--email', 'reader@example.com', '--code', code, '--json'],
    {},
  );
  const opened = JSON.parse(redeem.stdout).boxes.length;

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model,
    recipients,
    concurrency: concurrency === undefined ? 'default' : Number(concurrency),
    send_seconds: Number(send.seconds.toFixed(1)),
    send_recipients_per_second: Math.round(recipients / send.seconds),
    send_peak_rss_mb: Math.round(send.peakKb / 1024),
    send_cli_cpu_seconds: Number((send.cpuMs / 1000).toFixed(1)),
    send_server_cpu_seconds: Number((serverCpuMs / 1000).toFixed(1)),
    redeem_boxes: opened,
    redeem_seconds: Number(redeem.seconds.toFixed(2)),
    redeem_peak_rss_mb: Math.round(redeem.peakKb / 1024),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
  await rm(workDir, { recursive: true, force: true });
}
