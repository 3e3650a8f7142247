/**
 * The local stand-in for CloudFront in front of the exports bucket:
 *   /retrieve/*               → the retrieve-auth CloudFront Function (the same file, in a vm
 *                               sandbox), then the rewritten object from the S3 server
 *   /exposure-configuration/* → the object from the S3 server (no function, as in AWS)
 * Objects are served with the headers they were stored with (Content-Type, Cache-Control).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../lambdas/ports';
import { createEdgeFunction, EdgeFunctionError } from './edge-runner';
import type { LocalRequest, LocalResponse, RouteTable } from './gateway';

export const EXPOSURE_CONFIGURATION_DIR = join(__dirname, '..', 'exposure-configuration');
export const EXPOSURE_CONFIGURATION_PREFIX = 'exposure-configuration/';

const plain = (status: number, message: string): LocalResponse => ({
  status,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
  body: `${message}\n`,
});

/** Uploads the repo's exposure configuration files, as the CDK BucketDeployment does. */
export async function deployExposureConfiguration(s3: S3Client, bucket: string): Promise<string[]> {
  const names = readdirSync(EXPOSURE_CONFIGURATION_DIR).filter((n) => n.endsWith('.json'));
  for (const name of names) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${EXPOSURE_CONFIGURATION_PREFIX}${name}`,
        Body: readFileSync(join(EXPOSURE_CONFIGURATION_DIR, name)),
        ContentType: 'application/json',
        CacheControl: 'public, max-age=3600',
      }),
    );
  }
  return names;
}

async function serveObject(s3: S3Client, bucket: string, key: string): Promise<LocalResponse> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = Buffer.from(await out.Body!.transformToByteArray());
    const headers: Record<string, string> = {};
    if (out.ContentType) headers['Content-Type'] = out.ContentType;
    if (out.CacheControl) headers['Cache-Control'] = out.CacheControl;
    if (out.ETag) headers.ETag = out.ETag;
    if (out.LastModified) headers['Last-Modified'] = out.LastModified.toUTCString();
    return { status: 200, headers, body };
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string })?.name === 'NoSuchKey') return plain(404, '404 page not found');
    throw error;
  }
}

export function registerCdnRoutes(
  routes: RouteTable,
  deps: { s3: S3Client; bucket: string; clock: Clock; kvs: { hmacKey: string; regions: string } },
): void {
  const edge = createEdgeFunction({ kvs: deps.kvs, now: () => deps.clock.nowMs() });

  const retrieve = async (req: LocalRequest): Promise<LocalResponse> => {
    let result;
    try {
      result = await edge.handle({ method: req.method, uri: req.path, headers: req.headers });
    } catch (error) {
      if (error instanceof EdgeFunctionError) return plain(503, 'the CloudFront function failed');
      throw error;
    }
    if (result.kind === 'response') return { status: result.status, headers: result.headers, body: result.body };
    return serveObject(deps.s3, deps.bucket, result.uri.replace(/^\//, ''));
  };
  routes.raw('ANY', '/retrieve', retrieve);
  routes.raw('ANY', '/retrieve/{proxy+}', retrieve);

  routes.raw('ANY', '/exposure-configuration/{name}', async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(405, 'method not allowed');
    return serveObject(deps.s3, deps.bucket, `${EXPOSURE_CONFIGURATION_PREFIX}${req.params.name}`);
  });
}
