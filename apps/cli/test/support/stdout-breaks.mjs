// Loaded into the CLI with `node --import`, this makes every write to stdout after the first
// STDOUT_WRITES_ALLOWED ones (default 0) fail with EPIPE, as when the reader of a pipe exits
// (`| head -2`). The failure comes at a chosen write, not whenever a real reader exits.
const allowed = Number(process.env.STDOUT_WRITES_ALLOWED ?? '0');
let writes = 0;
const write = process.stdout.write.bind(process.stdout);

process.stdout.write = (chunk, encoding, callback) => {
  writes += 1;
  if (writes <= allowed) {
    return write(chunk, encoding, callback);
  }

  const done = typeof encoding === 'function' ? encoding : callback;
  const error = new Error('write EPIPE');
  error.code = 'EPIPE';
  error.errno = -32;
  error.syscall = 'write';
  process.nextTick(() => done?.(error));
  return false;
};
