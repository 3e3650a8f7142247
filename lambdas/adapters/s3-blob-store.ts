/** BlobStore on S3 (the exports bucket in AWS, the embedded S3 server offline). */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { StorageError } from '../domain/settings';
import type { BlobStore } from '../ports';

export class S3BlobStore implements BlobStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array, meta: { readonly contentType: string; readonly cacheControl?: string }): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: meta.contentType,
          ...(meta.cacheControl ? { CacheControl: meta.cacheControl } : {}),
        }),
      );
    } catch (error) {
      throw new StorageError(`writing ${key} failed: ${(error as Error)?.name ?? 'unknown error'}`, { cause: error });
    }
  }
}
