/**
 * Privacy of what the submission flow stores (deviations 6–8): after a code is issued for a
 * hashId, a wrong code and then the right one are claimed from one IP and keys are uploaded, no
 * item of either table contains the bearer token, the code, the client IP or the hashId.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { claimKey } from '../../../lambdas/domain/claim-key';
import { issueCode, originatorId } from '../../../lambdas/domain/issue-code';
import { uploadKeys } from '../../../lambdas/domain/upload-keys';
import { FixedClock } from '../../support/builders/deterministic';
import { RecordingEvents } from '../../support/builders/in-memory-submission';
import { localDynamo, localSubmission, scanAll } from '../../support/builders/local-submission';
import { boxKeyPair, hashIdOf } from '../../support/builders/submission';
import { sealedUpload, someKeys, uploadPlaintext } from '../../support/builders/uploads';

afterAll(async () => (await localDynamo()).db.destroy());

/** Every string an item could reveal a value through: text, and binary read as text or hex. */
function textsOf(value: unknown): string[] {
  if (value instanceof Uint8Array) {
    const b = Buffer.from(value);
    return [b.toString('latin1'), b.toString('utf8'), b.toString('hex'), b.toString('base64'), b.toString('base64url')];
  }
  if (Array.isArray(value)) return value.flatMap(textsOf);
  if (value instanceof Set) return [...value].flatMap(textsOf);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...textsOf(v)]);
  return [String(value)];
}

test('no stored item contains the token, the code, the IP or the hashId in clear', async () => {
  // Prepare
  const token = `tok-${randomUUID()}`;
  const ip = `2001:db8::${randomBytes(6).toString('hex').match(/.{4}/g)!.join(':')}`;
  const hashId = hashIdOf(randomUUID());
  const sub = await localSubmission({ keyClaimTokens: [{ token, region: 'ON' }] });
  const now = Date.now();
  const deps = { ...sub, clock: new FixedClock(now), events: new RecordingEvents() };
  const app = boxKeyPair(new Uint8Array(randomBytes(32)));

  // Act
  const issued = await issueCode(deps, { authorization: `Bearer ${token}`, hashId });
  const code = (issued as { code: string }).code;
  const failed = await claimKey(deps, ip, { kind: 'claim', oneTimeCode: 'QQQ777QQQQ', appPublicKey: app.publicKey });
  const claimed = await claimKey(deps, ip, { kind: 'claim', oneTimeCode: code, appPublicKey: app.publicKey });
  const serverPublicKey = (claimed as { serverPublicKey: Uint8Array }).serverPublicKey;
  await claimKey(deps, ip, { kind: 'claim', oneTimeCode: 'QQQ777QQQQ', appPublicKey: new Uint8Array(randomBytes(32)) });
  const uploaded = await uploadKeys(deps, sealedUpload({ server: { publicKey: serverPublicKey }, app }, uploadPlaintext({ timestampSeconds: Math.floor(now / 1000), keys: someKeys(now, 3) })));
  const items = [...(await scanAll(sub.db, sub.tables.submission)), ...(await scanAll(sub.db, sub.tables.diagnosisKeys))];

  // Assess
  expect([issued.kind, failed.kind, claimed.kind, uploaded.kind]).toEqual(['issued', 'INVALID_ONE_TIME_CODE', 'claimed', 'NONE']);
  const ours = items.filter((item) => item.originator === originatorId(token));
  expect(ours).toHaveLength(1 + 3); // the key pair and the three keys
  expect(items.some((item) => item.pk === `ban#${sub.hasher.digest('ip', ip)}`)).toBe(true);
  const texts = items.flatMap(textsOf);
  for (const secret of [token, code, ip, hashId, ip.replace(/:/g, '')]) {
    expect(texts.filter((t) => t.includes(secret))).toEqual([]);
  }
});
