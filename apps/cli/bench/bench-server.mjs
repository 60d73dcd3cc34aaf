// Starts a provisions server and one organization in this process, for the
// benchmark, and prints `{ url, id, client_secret }` as one JSON line.
import { createOrganization, startServer } from '@provisions/server';

const dataDir = process.argv[2];
if (dataDir === undefined) {
  process.stderr.write('usage: node bench-server.mjs DATA_DIR\n');
  process.exit(2);
}

const server = await startServer({ dataDir, port: 0, logger: false });
const organization = await createOrganization({ dataDir, name: 'Benchmark organization' });
process.stdout.write(`${JSON.stringify({ url: server.url, ...organization })}\n`);

process.on('SIGTERM', async () => {
  await server.close();
  process.exit(0);
});
