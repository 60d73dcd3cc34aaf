import { describe, expect, it } from 'vitest';

import {
  type HashedRecipient,
  hashManifestContent,
  hashManifestInOrder,
} from '../src/manifest-hash.js';

const ADA: HashedRecipient = {
  email: 'ada@example.com',
  boxes: [
    { title: 'Contract', messages: ['first', 'second'] },
    { title: 'Payslip', messages: ['hi'] },
  ],
};
const GRACE: HashedRecipient = {
  email: 'grace@example.org',
  boxes: [{ title: 'Payslip', messages: ['hi'] }],
};

describe('hashManifestInOrder', () => {
  it('keeps the hash of existing journals', () => {
    // The value that earlier releases wrote to the journal for this manifest. A different value
    // would make every unfinished journal reject its own manifest.
    const recipients: HashedRecipient[] = [
      { email: 'ada@example.com', boxes: [{ title: 'Contract', messages: ['first', 'second'] }] },
      { email: 'grace@example.org', boxes: [{ title: 'Payslip', messages: ['hi'] }] },
    ];

    expect(hashManifestInOrder(recipients)).toBe(
      '0f1e2f02e509d636c8197b067a343a02d90f0d54396c540f8db97ca86daaf8c3',
    );
  });

  it('changes with the order of recipients', () => {
    expect(hashManifestInOrder([ADA, GRACE])).not.toBe(hashManifestInOrder([GRACE, ADA]));
  });
});

describe('hashManifestContent', () => {
  it('ignores the order of recipients', () => {
    expect(hashManifestContent([GRACE, ADA])).toBe(hashManifestContent([ADA, GRACE]));
  });

  it('ignores the order of boxes', () => {
    const swapped = { ...ADA, boxes: [...ADA.boxes].reverse() };

    expect(hashManifestContent([swapped, GRACE])).toBe(hashManifestContent([ADA, GRACE]));
  });

  it('keeps the order of messages', () => {
    const swapped = {
      ...ADA,
      boxes: [{ title: 'Contract', messages: ['second', 'first'] }, ADA.boxes[1]],
    } as HashedRecipient;

    expect(hashManifestContent([swapped, GRACE])).not.toBe(hashManifestContent([ADA, GRACE]));
  });

  it('differs from the in-order hash', () => {
    expect(hashManifestContent([ADA, GRACE])).not.toBe(hashManifestInOrder([ADA, GRACE]));
    expect(hashManifestContent([ADA, GRACE])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('tells moved messages apart', () => {
    const moved: HashedRecipient = {
      email: 'ada@example.com',
      boxes: [
        { title: 'Contract', messages: ['first'] },
        { title: 'Payslip', messages: ['second', 'hi'] },
      ],
    };

    expect(hashManifestContent([moved, GRACE])).not.toBe(hashManifestContent([ADA, GRACE]));
  });
});
