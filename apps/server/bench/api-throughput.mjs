// Measures the API's throughput and latency with autocannon on two operations, each
// beside bare Fastify routes on their own SQLite file, on the same machine in the
// same run:
//
// - GET /crypto/provisions?user_key_share_hash=… by a signed-in person whose
//   provision exists (the redemption look-up);
// - POST /organizations/{oid}/boxes by an organization, each request with a new box,
//   a new provision for a new address and its invitation.
//
// Before each API run, a bare route runs: one SQLite read, and for the box creation
// also a write transaction of three rows, which shows what a SQLite commit costs on
// the machine. The API server and the bare app each run in a child process, so
// autocannon in this process does not share their event loop. The API server logs one
// info line per request, asynchronously to a file; `provisions-server start` writes the
// same lines synchronously to standard output, which is slower. Build the package first.
//
// Usage: node bench/api-throughput.mjs [seconds per run]
// Set BENCH_CPU_PROFILE_DIR to write a CPU profile of the API server there.
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const BARE_READ = 'bare route: one SQLite read';
const BARE_WRITE = 'bare route: one 3-row write transaction';

const [role, roleDirectory] = process.argv.slice(2);

if (role === 'serve-api') {
  await serveApi(roleDirectory);
} else if (role === 'serve-bare') {
  await serveBare(roleDirectory);
} else {
  await runBenchmark(Number(process.argv[2] ?? 10));
}

/** Child process: the provisions API server, logging at info level asynchronously to a file. */
async function serveApi(dataDir) {
  const { startServer } = await import('../dist/index.js');
  const { default: pino } = await import('pino');
  const stream = pino.destination({ dest: join(dataDir, 'server.log'), sync: false });
  const server = await startServer({ dataDir, port: 0, logger: { level: 'info', stream } });
  // A normal exit lets `--cpu-prof` write its profile.
  process.once('SIGTERM', async () => {
    await server.close();
    process.exit(0);
  });
  process.send({ url: server.url });
}

/**
 * Child process: a bare Fastify app on its own SQLite file, with the server's
 * settings (WAL, `synchronous = NORMAL`). `GET /item` reads one row. `POST /items`
 * writes three rows into three indexed tables in one `BEGIN IMMEDIATE` transaction,
 * about what a box with one provision and one invitation writes.
 */
async function serveBare(directory) {
  const { default: Fastify } = await import('fastify');
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(directory, 'bare.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE items (id INTEGER PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE parents (id TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE keys (key TEXT PRIMARY KEY, email TEXT NOT NULL, hash TEXT NOT NULL UNIQUE) STRICT;
    CREATE INDEX keys_by_email ON keys (email);
    CREATE TABLE children (
      position INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      parent_id TEXT NOT NULL REFERENCES parents (id),
      key TEXT NOT NULL REFERENCES keys (key),
      value TEXT NOT NULL
    ) STRICT;
    CREATE INDEX children_by_key ON children (key, position);
  `);
  db.prepare('INSERT INTO items (id, value) VALUES (1, ?)').run(randomText(32));
  const read = db.prepare('SELECT id, value FROM items WHERE id = ?');
  const insertParent = db.prepare('INSERT INTO parents (id, value) VALUES (?, ?)');
  const insertKey = db.prepare('INSERT INTO keys (key, email, hash) VALUES (?, ?, ?)');
  const insertChild = db.prepare(
    'INSERT INTO children (id, parent_id, key, value) VALUES (?, ?, ?, ?)',
  );
  const write = db.transaction(() => {
    const parentId = randomUUID();
    const key = randomText(32);
    insertParent.run(parentId, randomText(32));
    insertKey.run(key, `${randomUUID()}@example.org`, randomText(64));
    insertChild.run(randomUUID(), parentId, key, randomText(112));
    return { id: parentId };
  });

  const app = Fastify({ logger: false });
  app.get('/item', async () => read.get(1));
  app.post('/items', async (_request, reply) => reply.code(201).send(write.immediate()));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ url });
}

function randomText(byteLength) {
  return randomBytes(byteLength).toString('base64url');
}

/** Starts this script in a child process with a role and waits for the URL it listens on. */
function startChild(childRole, directory, execArgv = []) {
  const child = fork(fileURLToPath(import.meta.url), [childRole, directory], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv,
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, url: message.url }));
    child.once('exit', (code) => reject(new Error(`${childRole} exited with code ${code}`)));
  });
}

function waitForExit(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => child.once('exit', resolve));
}

async function postJson(url, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token !== undefined) {
    headers.authorization = `Bearer ${token}`;
  }
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!response.ok) {
    throw new Error(`POST ${url} failed with ${response.status}: ${await response.text()}`);
  }
  return response.status === 202 ? undefined : response.json();
}

/**
 * Returns a box creation body with a new box key, a provision for a new address and
 * the invitation sealed to it. The keys, shares and sealed invitation are random bytes
 * of the right lengths: the server checks formats and uniqueness and cannot tell them
 * from real ones, and this keeps the load generator's work per request small.
 */
function newBoxBody(index) {
  const provisionKey = randomBytes(32).toString('base64url');
  return {
    title: `Bench box ${index}`,
    public_key: randomBytes(32).toString('base64url'),
    crypto: {
      invitation_data: { [provisionKey]: randomBytes(48 + 64).toString('base64url') },
      provisions: {
        [`bench-${index}-${randomBytes(4).toString('hex')}@example.org`]: {
          public_key: provisionKey,
          misakey_key_share: randomBytes(33).toString('base64url'),
          user_key_share_hash: randomBytes(64).toString('base64url'),
        },
      },
    },
  };
}

/** Creates an organization and a signed-in person with one provision; returns their tokens. */
async function prepareApi(url, dataDir) {
  const { createOrganization, OUTBOX_FILE_NAME } = await import('../dist/index.js');
  const { createProvision, encodeBase64Url, hashShare, seal, generateKeyPair } = await import(
    '@provisions/crypto'
  );

  const credentials = await createOrganization({ dataDir, name: 'Bench' });
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: credentials.id,
    client_secret: credentials.client_secret,
  });
  const tokenResponse = await fetch(`${url}/oauth/token`, { method: 'POST', body: form });
  const organizationToken = (await tokenResponse.json()).access_token;

  const email = 'reader@example.org';
  const provision = await createProvision();
  const box = await generateKeyPair();
  const invitation = await seal(
    new TextEncoder().encode(JSON.stringify({ box_secret_key: encodeBase64Url(box.secretKey) })),
    provision.publicKey,
  );
  await postJson(
    `${url}/organizations/${credentials.id}/boxes`,
    {
      title: 'Bench reader box',
      public_key: encodeBase64Url(box.publicKey),
      crypto: {
        invitation_data: { [provision.payload.public_key]: encodeBase64Url(invitation) },
        provisions: { [email]: provision.payload },
      },
    },
    organizationToken,
  );

  await postJson(`${url}/auth/email-codes`, { email });
  const outbox = await readFile(join(dataDir, OUTBOX_FILE_NAME), 'utf8');
  const { code } = JSON.parse(outbox.trim().split('\n').at(-1));
  const session = await postJson(`${url}/auth/sessions`, { email, code });

  return {
    organizationId: credentials.id,
    organizationToken,
    personToken: session.access_token,
    shareHash: encodeBase64Url(await hashShare(provision.userKeyShare)),
  };
}

/** Runs autocannon and returns requests/s and the p50 and p99 latencies in ms; throws if any request failed. */
async function measure(name, options, seconds) {
  const result = await autocannon({
    connections: 10,
    duration: seconds,
    warmup: { connections: 10, duration: 2 },
    ...options,
  });
  const failures = result.errors + result.timeouts + result.non2xx;
  if (failures > 0) {
    throw new Error(`${name}: ${failures} requests failed (non-2xx, errors or timeouts)`);
  }
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
  };
}

async function runBenchmark(seconds) {
  const loadBefore = readLoadAverage();
  const directory = await mkdtemp(join(tmpdir(), 'provisions-api-bench-'));
  const children = [];
  try {
    const bare = await startChild('serve-bare', directory);
    children.push(bare.child);
    const profileDirectory = process.env.BENCH_CPU_PROFILE_DIR;
    const api = await startChild(
      'serve-api',
      directory,
      profileDirectory === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`],
    );
    children.push(api.child);
    const setup = await prepareApi(api.url, directory);

    const bareRead = { url: `${bare.url}/item` };
    const bareWrite = { url: `${bare.url}/items`, method: 'POST' };
    let boxIndex = 0;
    const runs = [
      [BARE_READ, bareRead],
      [
        'GET /crypto/provisions',
        {
          url: `${api.url}/crypto/provisions?user_key_share_hash=${setup.shareHash}`,
          headers: { authorization: `Bearer ${setup.personToken}` },
        },
      ],
      [BARE_READ, bareRead],
      [BARE_WRITE, bareWrite],
      [
        'POST /organizations/{oid}/boxes',
        {
          url: api.url,
          requests: [
            {
              method: 'POST',
              path: `/organizations/${setup.organizationId}/boxes`,
              headers: {
                authorization: `Bearer ${setup.organizationToken}`,
                'content-type': 'application/json',
              },
              setupRequest: (request) => {
                boxIndex += 1;
                return { ...request, body: JSON.stringify(newBoxBody(boxIndex)) };
              },
            },
          ],
        },
      ],
    ];

    const results = [];
    for (const [name, options] of runs) {
      process.stderr.write(`measuring ${name} for ${seconds} s\n`);
      results.push(await measure(name, options, seconds));
    }
    printTable(results, loadBefore);
  } finally {
    for (const child of children) {
      child.kill();
    }
    await Promise.all(children.map((child) => waitForExit(child)));
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Prints a Markdown table. Each row is compared with the latest bare read run before
 * it, and the box creation also with the bare write run before it.
 */
function printTable(results, loadBefore) {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`;
  const lines = [
    `${new Date().toISOString().slice(0, 10)}, ${machine}, Node ${process.version}`,
    `load average before: ${loadBefore}, after: ${readLoadAverage()}`,
    '',
    '| operation | requests/s | p50 | p99 | vs bare read | vs bare write |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const latest = {};
  for (const result of results) {
    const versus = (bareName) =>
      latest[bareName] === undefined || result.name.startsWith('bare')
        ? ''
        : (result.requestsPerSecond / latest[bareName].requestsPerSecond).toFixed(2);
    const versusWrite = result.name.startsWith('POST') ? versus(BARE_WRITE) : '';
    lines.push(
      `| ${result.name} | ${Math.round(result.requestsPerSecond)} | ${result.p50} ms | ${result.p99} ms | ${versus(BARE_READ)} | ${versusWrite} |`,
    );
    if (result.name.startsWith('bare')) {
      latest[result.name] = result;
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Returns the 1, 5 and 15-minute load averages of Linux, or `unknown` elsewhere. */
function readLoadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}
