/**
 * Proves that the embedded S3 server stores objects byte-exact when reached through the shared
 * client factory, including streamed bodies (the aws-chunked corruption trap of s3rver + SDK v3).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../../lambdas/adapters/aws-clients';
import { runtimeInfo } from '../support/runtime';

let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  const info = await runtimeInfo();
  s3 = s3Client({
    endpoint: info.s3.endpoint,
    region: info.s3.region,
    credentials: { accessKeyId: info.s3.accessKeyId, secretAccessKey: info.s3.secretAccessKey },
  });
  bucket = info.s3.buckets.exports;
});

afterAll(() => s3.destroy());

async function download(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

test('a 1 MB binary object round-trips byte-exact, with its content type and cache control', async () => {
  // Prepare
  const key = `test/${randomUUID()}.zip`;
  const bytes = randomBytes(1024 * 1024);

  // Act
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: 'application/zip', CacheControl: 'public, max-age=600' }),
  );
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const back = await download(key);

  // Assess
  expect(back.length).toBe(bytes.length);
  expect(back.equals(bytes)).toBe(true);
  expect(head.ContentType).toBe('application/zip');
  expect(head.CacheControl).toBe('public, max-age=600');
});

test('a streamed 1 MB body is stored without aws-chunked framing', async () => {
  // Prepare
  const key = `test/${randomUUID()}.bin`;
  const bytes = randomBytes(1024 * 1024);
  const chunks = [bytes.subarray(0, 300_000), bytes.subarray(300_000, 700_000), bytes.subarray(700_000)];

  // Act
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Readable.from(chunks), ContentLength: bytes.length }));
  const back = await download(key);

  // Assess
  expect(back.subarray(0, 16).toString('latin1')).not.toMatch(/^[0-9a-f]+;chunk-signature|^[0-9a-f]+\r\n/);
  expect(back.equals(bytes)).toBe(true);
});
