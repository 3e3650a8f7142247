/** DynamoBanStore against DynamoDB Local: atomic counting, restart after expiry, clear. */
import { randomUUID } from 'node:crypto';
import { localDynamo, localSubmission, rawItem } from '../../support/builders/local-submission';

const HOUR_MS = 3_600_000;
const freshIpHash = () => `ip-${randomUUID()}`;

afterAll(async () => (await localDynamo()).db.destroy());

describe('DynamoBanStore', () => {
  test('50 concurrent failures are all counted: 1..50 handed out once each, 50 stored', async () => {
    // Prepare
    const sub = await localSubmission();
    const ipHash = freshIpHash();
    const now = Date.now();

    // Act
    const records = await Promise.all(Array.from({ length: 50 }, () => sub.bans.recordFailure(ipHash, now)));

    // Assess
    expect(records.map((r) => r.failures).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await expect(sub.bans.get(ipHash, now)).resolves.toEqual({ failures: 50, lastFailureMs: now });
  });

  test('a counter whose last failure is an hour old is gone, and the next failure restarts at 1', async () => {
    // Prepare
    const sub = await localSubmission();
    const ipHash = freshIpHash();
    const t0 = Date.now();
    for (let i = 0; i < 3; i += 1) await sub.bans.recordFailure(ipHash, t0);

    // Act
    const justBefore = await sub.bans.get(ipHash, t0 + HOUR_MS - 1);
    const atExpiry = await sub.bans.get(ipHash, t0 + HOUR_MS);
    const restarted = await sub.bans.recordFailure(ipHash, t0 + HOUR_MS);

    // Assess
    expect(justBefore).toEqual({ failures: 3, lastFailureMs: t0 });
    expect(atExpiry).toBeUndefined();
    expect(restarted).toEqual({ failures: 1, lastFailureMs: t0 + HOUR_MS });
    await expect(sub.bans.get(ipHash, t0 + HOUR_MS)).resolves.toEqual({ failures: 1, lastFailureMs: t0 + HOUR_MS });
  });

  test('each failure moves the hour forward and the TTL with it', async () => {
    // Prepare
    const sub = await localSubmission();
    const ipHash = freshIpHash();
    const t0 = Date.now();
    await sub.bans.recordFailure(ipHash, t0);

    // Act
    const second = await sub.bans.recordFailure(ipHash, t0 + HOUR_MS - 1);

    // Assess
    expect(second).toEqual({ failures: 2, lastFailureMs: t0 + HOUR_MS - 1 });
    expect(await rawItem(sub.db, sub.tables.submission, { pk: `ban#${ipHash}` })).toMatchObject({
      failures: 2,
      expiresAt: Math.ceil((t0 + 2 * HOUR_MS - 1) / 1000),
    });
  });

  test('clear removes the counter', async () => {
    // Prepare
    const sub = await localSubmission();
    const ipHash = freshIpHash();
    const now = Date.now();
    await sub.bans.recordFailure(ipHash, now);

    // Act
    await sub.bans.clear(ipHash);

    // Assess
    await expect(sub.bans.get(ipHash, now)).resolves.toBeUndefined();
    await expect(sub.bans.recordFailure(ipHash, now)).resolves.toEqual({ failures: 1, lastFailureMs: now });
  });
});
