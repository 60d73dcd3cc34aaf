// Loaded into the CLI with `node --import`, this makes writes to some files fail with ENOSPC,
// as on a full disk. FULL_DISK_PATH is a regular expression for the real paths of the files,
// and FULL_DISK_AFTER the number of writes to them that still succeed (default 0). Writes
// through FileHandle methods count, which is how the journal, the keystore and the links
// files are written.
import { readlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';

const pattern = new RegExp(process.env.FULL_DISK_PATH ?? '(?!)');
let allowed = Number(process.env.FULL_DISK_AFTER ?? '0');

const handle = await open(process.execPath, 'r');
const fileHandlePrototype = Object.getPrototypeOf(handle);
await handle.close();

for (const name of ['appendFile', 'write', 'writeFile', 'writev']) {
  const original = fileHandlePrototype[name];
  fileHandlePrototype[name] = function writeUnlessFull(...args) {
    if (pattern.test(readlinkSync(`/proc/self/fd/${this.fd}`))) {
      if (allowed <= 0) {
        const error = new Error('ENOSPC: no space left on device, write');
        error.code = 'ENOSPC';
        error.errno = -28;
        error.syscall = 'write';
        return Promise.reject(error);
      }
      allowed -= 1;
    }
    return original.apply(this, args);
  };
}
