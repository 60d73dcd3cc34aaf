import type { Clock } from './clock.js';
import type { PageCursors } from './http/page-cursor.js';
import type { OutboxMailer } from './mail/outbox-mailer.js';
import type { DatabaseStore } from './store/store.js';

/** Dependencies shared by route handlers: the database, the clock, the mailer and the cursor signer. */
export interface ServerContext {
  store: DatabaseStore;
  clock: Clock;
  mailer: OutboxMailer;
  /** Makes and checks the pagination cursors of listings. */
  cursors: PageCursors;
  /** URL of the web app, mentioned in sign-in emails; undefined when not configured. */
  appUrl: string | undefined;
  /** Requests one client address may make per minute to each sign-in operation. */
  signInRequestsPerMinute: number;
}
