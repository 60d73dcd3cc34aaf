import { type FileHandle, open } from 'node:fs/promises';

import type { FileKeystore } from '@provisions/core/keystore';

import { CliError } from './cli-error.js';
import { fileErrorCode } from './file-error.js';
import type { Journal } from './journal.js';
import { KEYSTORE_LOSS_ACCEPTED, type SendJournalState } from './send-journal.js';

/**
 * Stops a resumed run, once, before it changes a keystore that another program truncated.
 *
 * The keystore is synced before the journal records a provision, and a crash cuts only records
 * of a write that had not finished, which no run relied on yet. So a keystore that ends in a cut
 * record and has no entry (and no revocation) for a provision that the journal records was cut
 * short by something else. Its first change would rewrite it without the cut record and add this
 * run's entries, and a backup restored after that would lack them. The run therefore stops first
 * and records in the journal that it did, so running the same command again goes on without the
 * lost entries.
 *
 * @throws CliError (exit code 1) naming the keystore, the journal and the first lost entry.
 */
export async function checkKeystoreLoss(
  keystore: FileKeystore,
  journal: Journal,
  state: SendJournalState,
): Promise<void> {
  if (state.keystoreLossAccepted) {
    return;
  }

  const lost: string[] = [];
  for (const recipient of state.recipients.values()) {
    const decision = recipient.decision;
    if (decision?.delivery !== 'provision') {
      continue;
    }
    const entry = await keystore.get(decision.email);
    if (entry === undefined && keystore.getRevocation(decision.public_key) === undefined) {
      lost.push(decision.email);
    }
  }
  if (lost.length === 0 || !(await endsInCutRecord(keystore.path))) {
    return;
  }

  await journal.append({
    type: KEYSTORE_LOSS_ACCEPTED,
    lost_entries: lost.length,
    created_at: new Date().toISOString(),
  });
  const recipients = lost.length === 1 ? '1 recipient' : `${lost.length} recipients`;
  throw new CliError(
    `keystore ${keystore.path} ends in a cut record and has no entry for ${recipients} whose provisions journal ${journal.path} records, such as ${lost[0]}: another program truncated it, because a crash cuts only a record that no run relied on. Nothing was sent, and the keystore was not changed. Restore the keystore from a copy that has these entries, then run the same command again. If no copy has them, run the same command again to finish the run without them: they fail, and a copy restored later would lack the entries that this run adds`,
  );
}

/**
 * Returns whether the file at `path` is not empty and its last byte is not a line feed. A missing
 * file, which the keystore opens as a new one, has no cut record.
 */
async function endsInCutRecord(path: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (fileErrorCode(error) === 'ENOENT') {
      return false;
    }
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) {
      return false;
    }
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await handle.close();
  }
}
