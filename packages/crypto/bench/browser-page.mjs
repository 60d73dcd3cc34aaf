// The part of the Chromium benchmark that runs in the page (see browser.mjs): this package
// on its WebCrypto and noble backends, and tweetnacl, which browser.mjs loads as a script.

import * as ours from '/dist/index.js';
import { measureAll, oursImplementation, tweetnaclImplementation } from './shared.mjs';

/** Measures every cell and returns `[name, rates]` pairs, which survive serialization. */
globalThis.runBenchmark = async ({ rounds, ms, verbose }) => {
  const implementations = [
    ['ours, WebCrypto X25519', oursImplementation(ours, 'webcrypto')],
    ['ours, noble X25519', oursImplementation(ours, 'noble')],
    ['tweetnacl 1.0.3', tweetnaclImplementation(globalThis.nacl, ours.encodeBase64Url)],
  ];
  const results = await measureAll({
    implementations,
    ours,
    rounds,
    ms,
    log: (line) => {
      if (verbose || line.startsWith('round ')) {
        console.log(line);
      }
    },
  });
  await ours.setX25519Backend('auto');
  return [...results];
};
