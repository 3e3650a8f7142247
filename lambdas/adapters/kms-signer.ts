/**
 * Export signing with an AWS KMS asymmetric key (`ECC_NIST_P256`, `ECDSA_SHA_256`). The SHA-256
 * digest is computed here and sent with MessageType DIGEST, so the export size never matters
 * (KMS takes at most 4 KB of RAW message) and the export never leaves the function. KMS returns
 * the signature DER-encoded, exactly as export.sig needs it.
 */
import { createHash } from 'node:crypto';
import { SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { SigningError } from '../domain/export-file';
import type { Signer } from '../ports';

export class KmsSigner implements Signer {
  constructor(
    private readonly kms: KMSClient,
    /** KMS key id, ARN or alias of the signing key. */
    readonly kmsKeyId: string,
    readonly keyId: string,
    readonly keyVersion: string,
  ) {}

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const digest = createHash('sha256').update(data).digest();
    let signature: Uint8Array | undefined;
    try {
      const out = await this.kms.send(
        new SignCommand({ KeyId: this.kmsKeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      signature = out.Signature;
    } catch (error) {
      throw new SigningError(`KMS Sign failed for ${this.keyId}/${this.keyVersion}: ${(error as Error)?.name ?? 'unknown error'}`, { cause: error });
    }
    if (!signature || signature.length === 0) throw new SigningError(`KMS Sign returned no signature for ${this.keyId}/${this.keyVersion}`);
    return signature;
  }
}
