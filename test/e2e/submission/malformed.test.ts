/**
 * Bad input never yields a 5xx: malformed bodies against /claim-key and /upload get a 4xx with
 * the documented error code (reference §4 steps 2–5, §5 rows 1–6; deviations 1 and 2).
 */
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { covidshield } from '../../../proto';
import { AppClient, loopbackFor, sealUpload, tek, uploadOf, type ClaimedKeySet } from '../../support/app-client';
import { runtimeUrl } from '../../support/runtime';
import { ClaimError, lengthDelimited, padTo, PROTOBUF, UploadError, varint } from './support';

const clientFor = (tag: string) => new AppClient(runtimeUrl(), loopbackFor(`${__filename}#${tag}`));
const client = new AppClient(runtimeUrl(), loopbackFor(__filename));

/** A varint-encoded field tag. */
const tag = (field: number, wireType: number) => varint((field << 3) | wireType);

const claimBody = (code: string, key: Uint8Array = nacl.box.keyPair().publicKey) =>
  Buffer.from(covidshield.KeyClaimRequest.encode({ oneTimeCode: code, appPublicKey: key }).finish());

describe('/claim-key', () => {
  const validBody = claimBody('AEF245XYZW');
  test.each<[string, () => Buffer, number, keyof typeof ClaimError]>([
    ['an empty body (an empty message: no key)', () => Buffer.alloc(0), 400, 'INVALID_KEY'],
    ['0xff × 64 (a varint that never ends)', () => Buffer.alloc(64, 0xff), 400, 'UNKNOWN'],
    ['a truncated request', () => validBody.subarray(0, validBody.length - 5), 400, 'UNKNOWN'],
    ['a length prefix of 2^32 - 1', () => Buffer.concat([tag(1, 2), varint(0xffffffff), Buffer.from('AEF')]), 400, 'UNKNOWN'],
    ['a length prefix of 2^31', () => Buffer.concat([tag(2, 2), varint(2 ** 31), randomBytes(32)]), 400, 'UNKNOWN'],
    ['a 10-byte overlong varint length', () => Buffer.concat([tag(1, 2), Buffer.alloc(10, 0x80), Buffer.from([0x01])]), 400, 'UNKNOWN'],
    ['a code sent with the wrong wire type (skipped as unknown: no code)', () => Buffer.concat([tag(1, 0), varint(5), lengthDelimited(2, randomBytes(32))]), 401, 'INVALID_ONE_TIME_CODE'],
    ['an end-group wire type', () => Buffer.concat([tag(3, 4)]), 400, 'UNKNOWN'],
    ['257 bytes (a valid request over the cap)', () => padTo(claimBody('AEF245XYZW'), 257), 400, 'UNKNOWN'],
    ['invalid UTF-8 as the code', () => Buffer.concat([lengthDelimited(1, Buffer.from([0xc3, 0x28, 0xff])), lengthDelimited(2, randomBytes(32))]), 401, 'INVALID_ONE_TIME_CODE'],
    ['a 4 KiB code', () => claimBody('A'.repeat(4096)), 400, 'UNKNOWN'],
  ])('%s is %i %s', async (name, body, status, error) => {
    // Act
    const response = await clientFor(`claim-${name}`).claimRaw(body());

    // Assess
    expect([response.status, response.contentType, ClaimError[response.message.error]]).toEqual([status, PROTOBUF, error]);
  });

  test('a 256-byte body is read: a valid code padded with spaces to exactly 256 bytes is claimed (200)', async () => {
    // Prepare
    const code = await client.newCode();
    const key = nacl.box.keyPair().publicKey;
    let body = claimBody(code, key);
    for (let spaces = 1; body.length < 256; spaces += 1) body = claimBody(`${' '.repeat(spaces)}${code}`, key);

    // Act
    const response = await client.claimRaw(body);

    // Assess
    expect(body.length).toBe(256);
    expect([response.status, ClaimError[response.message.error]]).toEqual([200, 'NONE']);
  });

  test('the same code padded to 257 bytes is 400 UNKNOWN and the code stays claimable', async () => {
    // Prepare
    const code = await client.newCode();
    const key = nacl.box.keyPair().publicKey;
    let body = claimBody(code, key);
    for (let spaces = 1; body.length < 257; spaces += 1) body = claimBody(`${' '.repeat(spaces)}${code}`, key);

    // Act
    const response = await client.claimRaw(body);
    const plain = await client.claim(code, key);

    // Assess
    expect(body.length).toBe(257);
    expect([response.status, ClaimError[response.message.error]]).toEqual([400, 'UNKNOWN']);
    expect(plain.status).toBe(200);
  });

  test('30 random bodies all get a 4xx with a claim error code', async () => {
    // Prepare
    const from = clientFor('claim-random');
    const bodies = Array.from({ length: 30 }, (_, i) => randomBytes(1 + ((i * 37) % 300)));

    // Act
    const responses = [];
    for (const body of bodies) responses.push(await from.claimRaw(body));

    // Assess
    for (const r of responses) {
      expect(r.contentType).toBe(PROTOBUF);
      expect([400, 401]).toContain(r.status);
      expect(['UNKNOWN', 'INVALID_KEY', 'INVALID_ONE_TIME_CODE']).toContain(ClaimError[r.message.error]);
    }
  });
});

describe('/upload', () => {
  let set: ClaimedKeySet;
  let valid: Uint8Array;
  beforeAll(async () => {
    set = await client.newKeySet();
    valid = sealUpload(set, uploadOf([tek()]));
  });

  test.each<[string, () => Uint8Array, number, keyof typeof UploadError]>([
    ['an empty body (no server key)', () => Buffer.alloc(0), 400, 'INVALID_CRYPTO_PARAMETERS'],
    ['0xff × 64', () => Buffer.alloc(64, 0xff), 400, 'UNKNOWN'],
    ['a truncated request', () => valid.subarray(0, valid.length - 7), 400, 'UNKNOWN'],
    ['a length prefix of 2^32 - 1', () => Buffer.concat([tag(1, 2), varint(0xffffffff), randomBytes(32)]), 400, 'UNKNOWN'],
    ['a length prefix of 2^31 on the payload', () => Buffer.concat([valid.subarray(0, 94), tag(4, 2), varint(2 ** 31), randomBytes(64)]), 400, 'UNKNOWN'],
    ['a bytes field sent as fixed32', () => Buffer.concat([tag(1, 5), randomBytes(4)]), 400, 'INVALID_CRYPTO_PARAMETERS'],
    ['2048 bytes of "a"', () => Buffer.alloc(2048, 'a'), 400, 'UNKNOWN'],
    ['2049 bytes of "a"', () => Buffer.alloc(2049, 'a'), 400, 'UNKNOWN'],
    ['16 KiB of zeros', () => Buffer.alloc(16384), 400, 'UNKNOWN'],
    ['a valid request padded to 2049 bytes', () => padTo(sealUpload(set, uploadOf([tek()])), 2049), 400, 'UNKNOWN'],
    ['only a 32-byte unknown server key', () => lengthDelimited(1, randomBytes(32)), 401, 'INVALID_KEYPAIR'],
    ['the real server key with nothing else', () => lengthDelimited(1, set.serverPublicKey), 400, 'INVALID_CRYPTO_PARAMETERS'],
    ['a box with an empty payload', () => sealUpload(set, uploadOf([tek()]), { payload: new Uint8Array(0) }), 400, 'DECRYPTION_FAILED'],
    ['a box of 15 bytes (shorter than the MAC)', () => sealUpload(set, uploadOf([tek()]), { payload: randomBytes(15) }), 400, 'DECRYPTION_FAILED'],
    ['a box around an empty plaintext', () => sealUpload(set, new Uint8Array(0)), 400, 'NO_KEYS_IN_PAYLOAD'],
    ['a box around 0xff × 40', () => sealUpload(set, Buffer.alloc(40, 0xff)), 400, 'INVALID_PAYLOAD'],
    ['a box around a key with a huge length prefix', () => sealUpload(set, Buffer.concat([tag(2, 2), varint(0x7fffffff), randomBytes(20)])), 400, 'INVALID_PAYLOAD'],
    ['a box around a timestamp of 2^62 s', () => sealUpload(set, { timestamp: { seconds: 2 ** 62 }, keys: [tek()] }), 400, 'INVALID_TIMESTAMP'],
    ['a box around a negative timestamp', () => sealUpload(set, { timestamp: { seconds: -1 }, keys: [tek()] }), 400, 'INVALID_TIMESTAMP'],
    ['a box around an RSIN of -1 with keys far apart', () => sealUpload(set, uploadOf([tek({ rollingStartIntervalNumber: -1 }), tek()])), 400, 'INVALID_ROLLING_START_INTERVAL_NUMBER'],
    ['a box around an RSIN of 2^31 - 1 with a current key', () => sealUpload(set, uploadOf([tek({ rollingStartIntervalNumber: 2 ** 31 - 1 }), tek()])), 400, 'INVALID_ROLLING_START_INTERVAL_NUMBER'],
  ])('%s is %i %s', async (_name, body, status, error) => {
    // Act
    const response = await client.uploadRaw(body());

    // Assess
    expect([response.status, response.contentType, UploadError[response.error]]).toEqual([status, PROTOBUF, error]);
  });

  test('a lone key far in the past or future is dropped, not an error (200 NONE)', async () => {
    // Act
    const past = await client.upload(set, uploadOf([tek({ rollingStartIntervalNumber: 1 })]));
    const future = await client.upload(set, uploadOf([tek({ rollingStartIntervalNumber: 2 ** 31 - 145 })]));

    // Assess
    expect([past.status, UploadError[past.error]]).toEqual([200, 'NONE']);
    expect([future.status, UploadError[future.error]]).toEqual([200, 'NONE']);
  });

  test('30 random bodies all get a 4xx with an upload error code', async () => {
    // Prepare
    const bodies = Array.from({ length: 30 }, (_, i) => randomBytes(1 + ((i * 71) % 2048)));

    // Act
    const responses = [];
    for (const body of bodies) responses.push(await client.uploadRaw(body));

    // Assess
    for (const r of responses) {
      expect(r.contentType).toBe(PROTOBUF);
      expect([400, 401]).toContain(r.status);
      expect(['UNKNOWN', 'INVALID_CRYPTO_PARAMETERS', 'INVALID_KEYPAIR']).toContain(UploadError[r.error]);
    }
  });

  test('random boxes for a real key pair get a 4xx', async () => {
    // Prepare
    const plaintexts = Array.from({ length: 15 }, (_, i) => randomBytes(1 + i * 60));

    // Act
    const responses = [];
    for (const plaintext of plaintexts) responses.push(await client.upload(set, plaintext));

    // Assess
    for (const r of responses) {
      expect(r.status).toBe(400);
      expect(['INVALID_PAYLOAD', 'NO_KEYS_IN_PAYLOAD', 'TOO_MANY_KEYS', 'INVALID_TIMESTAMP']).toContain(UploadError[r.error]);
    }
  });
});
