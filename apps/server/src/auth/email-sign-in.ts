import { randomInt, randomUUID } from 'node:crypto';
import { HttpProblem } from '../errors/http-problem.js';
import type { ProblemTypeName } from '../errors/problem-types.js';
import { formatWaitDuration } from '../errors/wait-duration.js';
import {
  EMAIL_CODE_MAX_FAILED_ATTEMPTS,
  EMAIL_CODE_TTL_SECONDS,
  EMAIL_CODES_PER_HOUR,
} from '../limits.js';
import { MailDeliveryError } from '../mail/mail-delivery-error.js';
import type { ServerContext } from '../server-context.js';
import type { EmailCodeRecord } from '../store/email-code-store.js';
import type { IdentityRecord } from '../store/identity-store.js';
import type { DatabaseStore, Store } from '../store/store.js';
import { digestsEqual, hashSecret } from './secret-token.js';

const CODE_DIGITS = 6;
const HOUR_MS = 60 * 60 * 1000;

/** Why a code was not accepted: the problem type and its detail. */
interface RejectedCodeProblem {
  failure: Extract<ProblemTypeName, 'invalidEmailCode' | 'emailCodeLocked'>;
  detail: string;
}

/**
 * Creates a 6-digit sign-in code for a normalized email address, stores its hash
 * (replacing any earlier code), and sends it through the mailer. Whether an
 * account exists for the address makes no difference.
 *
 * When the mailer fails, the code request is undone: its record no longer counts toward
 * the hourly limit, and the address's earlier code, if any, is pending again.
 *
 * @returns The RFC 3339 time the code expires.
 * @throws HttpProblem `tooManyEmailCodes` (429, with `Retry-After`) when the address
 * already got {@link EMAIL_CODES_PER_HOUR} codes in the last hour.
 * @throws MailDeliveryError when the mailer failed.
 */
export async function sendSignInCode(context: ServerContext, email: string): Promise<string> {
  const { store, clock, mailer } = context;
  const now = clock().getTime();
  const code = randomInt(0, 10 ** CODE_DIGITS)
    .toString()
    .padStart(CODE_DIGITS, '0');
  const codeHash = hashSecret(email, code);
  const expiresAt = new Date(now + EMAIL_CODE_TTL_SECONDS * 1000).toISOString();

  const earlierCode = await store.writeTransaction(async (tx) => {
    await tx.emailCodes.deleteRequestsBefore(now - HOUR_MS);
    const recent = await tx.emailCodes.listRequestsSince(email, now - HOUR_MS);
    const oldest = recent[0];
    if (recent.length >= EMAIL_CODES_PER_HOUR && oldest !== undefined) {
      const retryAfter = Math.max(1, Math.ceil((oldest + HOUR_MS - now) / 1000));
      throw new HttpProblem(
        'tooManyEmailCodes',
        `this address got ${EMAIL_CODES_PER_HOUR} codes in the last hour; retry in ${formatWaitDuration(retryAfter)}`,
        { headers: { 'retry-after': String(retryAfter) } },
      );
    }

    const earlier = await tx.emailCodes.find(email);
    await tx.emailCodes.recordRequest(email, now);
    await tx.emailCodes.replace({
      email,
      code_hash: codeHash,
      expires_at: now + EMAIL_CODE_TTL_SECONDS * 1000,
    });
    return earlier;
  });

  const minutes = EMAIL_CODE_TTL_SECONDS / 60;
  const where = context.appUrl === undefined ? '' : ` on ${context.appUrl}`;
  try {
    await mailer.send({
      to: email,
      subject: 'Your sign-in code',
      text:
        `Your sign-in code is ${code}. Enter it${where} within ${minutes} minutes. ` +
        'If you did not ask for it, ignore this message.',
      code,
      created_at: new Date(now).toISOString(),
    });
  } catch (error) {
    // The mail is sent outside the transaction, so that a slow mailer does not hold the
    // database's write lock, and so the request is undone in a transaction of its own.
    const rollbackError = await undoCodeRequest(store, email, now, codeHash, earlierCode).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    throw new MailDeliveryError(error, rollbackError);
  }
  return expiresAt;
}

/**
 * Deletes the record of the code request made at `requestedAt`, and puts back the code
 * that was pending before it, unless another request has replaced the code since.
 */
async function undoCodeRequest(
  store: DatabaseStore,
  email: string,
  requestedAt: number,
  codeHash: Buffer,
  earlierCode: EmailCodeRecord | undefined,
): Promise<void> {
  await store.writeTransaction(async (tx) => {
    await tx.emailCodes.deleteRequest(email, requestedAt);
    const current = await tx.emailCodes.find(email);
    if (current === undefined || !digestsEqual(current.code_hash, codeHash)) {
      return;
    }
    if (earlierCode === undefined) {
      await tx.emailCodes.delete(email);
    } else {
      await tx.emailCodes.restore(earlierCode);
    }
  });
}

/**
 * Checks a sign-in code and consumes it: a code works once, expires after
 * {@link EMAIL_CODE_TTL_SECONDS}, and is locked by the wrong try that brings its
 * failure count to {@link EMAIL_CODE_MAX_FAILED_ATTEMPTS}. Creates the identity on its
 * first sign-in. Runs `onSuccess` in the same write transaction, with the store of
 * that transaction, so the code is spent exactly when the session is created.
 *
 * @throws HttpProblem `invalidEmailCode` (401) for a missing, expired or used code, and
 * for a wrong code that leaves the pending code unlocked. Each wrong code counts as one
 * failed try.
 * @throws HttpProblem `emailCodeLocked` (401) for the wrong try that locks the pending
 * code, and for every later try until a new code replaces it.
 */
export async function redeemSignInCode<T>(
  context: ServerContext,
  email: string,
  code: string,
  onSuccess: (identity: IdentityRecord, tx: Store) => Promise<T>,
): Promise<T> {
  const { store, clock } = context;

  // A missing, expired, used or wrong code gets one message, so the response does
  // not reveal whether a code is pending for the address.
  const invalid = 'the code is wrong, expired or already used; check it or request a new one';
  const locked = `the code is locked after ${EMAIL_CODE_MAX_FAILED_ATTEMPTS} wrong tries, so request a new one`;
  const lockedNow = `the code is now locked after ${EMAIL_CODE_MAX_FAILED_ATTEMPTS} wrong tries, so request a new one`;

  const outcome = await store.writeTransaction(
    async (tx): Promise<RejectedCodeProblem | { result: T }> => {
      const now = clock().getTime();
      const pending = await tx.emailCodes.find(email);
      if (pending === undefined || pending.expires_at <= now) {
        return { failure: 'invalidEmailCode', detail: invalid };
      }
      // NOTE: a locked code gets its own problem type, so a client can offer a new code
      // in place of another try. It reveals that a code is pending for the address, but
      // only to a client that has sent 5 wrong codes for it.
      if (pending.failed_attempts >= EMAIL_CODE_MAX_FAILED_ATTEMPTS) {
        return { failure: 'emailCodeLocked', detail: locked };
      }
      if (!digestsEqual(hashSecret(email, code), pending.code_hash)) {
        await tx.emailCodes.recordFailure(email);
        // Write transactions run one at a time, so the count read above plus this
        // failure is the stored count. The try that locks the code gets the locked type.
        if (pending.failed_attempts + 1 >= EMAIL_CODE_MAX_FAILED_ATTEMPTS) {
          return { failure: 'emailCodeLocked', detail: lockedNow };
        }
        return { failure: 'invalidEmailCode', detail: invalid };
      }

      await tx.emailCodes.delete(email);
      let identity = await tx.identities.findByEmail(email);
      if (identity === undefined) {
        identity = {
          id: randomUUID(),
          email,
          public_key: null,
          created_at: new Date(now).toISOString(),
        };
        await tx.identities.insert(identity);
      }
      return { result: await onSuccess(identity, tx) };
    },
  );

  // The failed try is committed before the 401 is thrown, so it counts.
  if ('failure' in outcome) {
    throw new HttpProblem(outcome.failure, outcome.detail);
  }
  return outcome.result;
}
