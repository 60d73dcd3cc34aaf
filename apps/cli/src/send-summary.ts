import type { RecipientOutcome } from './bulk-send.js';
import { toTenthsOfSeconds } from './send-progress.js';

/** Failures, and revoked recipients, listed one per line on stderr; the JSON output lists them all. */
const MAX_FAILURES_SHOWN = 20;

/** Counts of a manifest run, over all runs of its journal. */
export interface RunSummary {
  recipients: number;
  done: number;
  failed: number;
  /** Recipients this run did not start because it stopped early. */
  skipped: number;
  /** Recipients whose provision the keystore records as revoked; they get no link. */
  revoked: number;
  /** Boxes that exist on the server for this manifest. */
  boxes_created: number;
  /** Of those, boxes this process created. */
  boxes_created_now: number;
  /**
   * Recipients whose boxes were sealed to their identity key (no link). This and the two
   * provision counts include every recipient with a box on the server, failed ones too.
   */
  auto_invitations: number;
  provisions_created: number;
  provisions_reused: number;
  /**
   * Links the journal records as emailed, by this run or an earlier one, with `--email-links`;
   * unset without it.
   */
  emails_sent?: number;
  /** Of those, the links this process emailed, with `--email-links`. */
  emails_sent_now?: number;
  /** Requests repeated after a network error, a 429 or a 5xx. */
  retries: number;
  /** Duration of this run, from the start of its progress report, rounded to a tenth. */
  seconds: number;
  journal: string;
  /**
   * `needs_step` is true when `reason` names a step to take, such as a revoke, because a plain
   * re-run would fail the recipient the same way.
   */
  failures: { email: string; reason: string; needs_step: boolean }[];
  revocations: { email: string; provision_public_key: string; revoked_at: string }[];
}

/** Counts the outcomes of a run. */
export function summarizeRun(
  outcomes: readonly RecipientOutcome[],
  run: { retries: number; elapsedMs: number; journalPath: string; emailLinks: boolean },
): RunSummary {
  const summary: RunSummary = {
    recipients: outcomes.length,
    done: 0,
    failed: 0,
    skipped: 0,
    revoked: 0,
    boxes_created: 0,
    boxes_created_now: 0,
    auto_invitations: 0,
    provisions_created: 0,
    provisions_reused: 0,
    ...(run.emailLinks ? { emails_sent: 0, emails_sent_now: 0 } : {}),
    retries: run.retries,
    seconds: toTenthsOfSeconds(run.elapsedMs),
    journal: run.journalPath,
    failures: [],
    revocations: [],
  };

  for (const outcome of outcomes) {
    summary.boxes_created += outcome.boxes.filter((box) => box.id !== undefined).length;
    summary.boxes_created_now += outcome.boxesCreatedNow;
    if (summary.emails_sent !== undefined && outcome.linkEmailed === true) {
      summary.emails_sent += 1;
    }
    if (summary.emails_sent_now !== undefined && outcome.linkEmailedNow === true) {
      summary.emails_sent_now += 1;
    }

    if (outcome.status === 'skipped') {
      summary.skipped += 1;
    } else if (outcome.status === 'failed') {
      summary.failed += 1;
      summary.failures.push({
        email: outcome.email,
        reason: outcome.error ?? 'unknown error',
        needs_step: outcome.needsStep === true,
      });
    } else if (outcome.status === 'revoked') {
      summary.revoked += 1;
      summary.revocations.push({
        email: outcome.email,
        provision_public_key: outcome.provisionPublicKey ?? '',
        revoked_at: outcome.revokedAt ?? '',
      });
    } else {
      summary.done += 1;
    }

    // The delivery counts once a box is on the server, even if a later step such as the
    // email failed, because the first box of a new provision carries the provision.
    if (outcome.boxes.some((box) => box.id !== undefined)) {
      countDelivery(summary, outcome);
    }
  }

  return summary;
}

function countDelivery(summary: RunSummary, outcome: RecipientOutcome): void {
  if (outcome.delivery === 'identity') {
    summary.auto_invitations += 1;
  } else if (outcome.newProvision === true) {
    summary.provisions_created += 1;
  } else {
    summary.provisions_reused += 1;
  }
}

/** Formats the summary for stderr; it contains no link. */
export function formatRunSummary(summary: RunSummary): string[] {
  const skipped = summary.skipped > 0 ? `, ${summary.skipped} skipped` : '';
  const revoked = summary.revoked > 0 ? `, ${summary.revoked} revoked` : '';
  const lines = [
    `recipients: ${summary.done} of ${summary.recipients} done, ${summary.failed} failed${revoked}${skipped} (${summary.seconds.toFixed(1)} s)`,
    `boxes created: ${summary.boxes_created} (${summary.boxes_created_now} by this run)`,
    `auto-invitations: ${summary.auto_invitations}`,
    `provisions created: ${summary.provisions_created}, reused: ${summary.provisions_reused}`,
  ];
  if (summary.emails_sent !== undefined) {
    lines.push(`emails sent: ${summary.emails_sent} (${summary.emails_sent_now ?? 0} by this run)`);
  }
  lines.push(`retries: ${summary.retries}`);

  for (const failure of summary.failures.slice(0, MAX_FAILURES_SHOWN)) {
    lines.push(`failed: ${failure.email}: ${failure.reason}`);
  }
  if (summary.failures.length > MAX_FAILURES_SHOWN) {
    lines.push(`… and ${summary.failures.length - MAX_FAILURES_SHOWN} more failures (see --json)`);
  }
  for (const revocation of summary.revocations.slice(0, MAX_FAILURES_SHOWN)) {
    lines.push(
      `revoked: ${revocation.email}: provision ${revocation.provision_public_key} was revoked at ${revocation.revoked_at}, so the run gives no link for it`,
    );
  }
  if (summary.revocations.length > MAX_FAILURES_SHOWN) {
    lines.push(
      `… and ${summary.revocations.length - MAX_FAILURES_SHOWN} more revoked recipients (see --json)`,
    );
  }
  if (summary.revoked > 0) {
    lines.push(
      'to reach a revoked recipient again, put them in a new manifest and send it, which creates a new link',
    );
  }
  // A run that stopped early ends with its own error, which explains how to resume.
  if (summary.failed > 0 && summary.skipped === 0) {
    lines.push(formatRetryHint(summary));
  }

  return lines;
}

/**
 * Returns the closing line of a run with failures. It counts apart the failures whose line
 * names a step to take, because a plain re-run would fail them again.
 */
function formatRetryHint(summary: RunSummary): string {
  const journal = `(journal ${summary.journal})`;
  const needingStep = summary.failures.filter((failure) => failure.needs_step).length;
  const retryable = summary.failures.length - needingStep;
  if (needingStep === 0) {
    return `run the same command again to retry the failed recipients ${journal}`;
  }
  if (retryable === 0) {
    const recipients =
      needingStep === 1 ? '1 failed recipient needs' : `all ${needingStep} failed recipients need`;
    const pronoun = needingStep === 1 ? 'it' : 'them';
    const line = needingStep === 1 ? 'its failure line names' : 'their failure lines name';
    return `${recipients} the step that ${line}, because running the same command again alone fails ${pronoun} again ${journal}`;
  }
  const others =
    needingStep === 1
      ? 'the other 1 needs the step that its failure line names'
      : `the other ${needingStep} need the step that their failure lines name`;
  return `run the same command again to retry ${retryable} of the failed recipients; ${others}, because a re-run alone fails ${needingStep === 1 ? 'it' : 'them'} again ${journal}`;
}
