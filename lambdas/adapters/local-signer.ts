/**
 * Export signing with a P-256 private key held in memory (the local runtime, tools and tests).
 * In AWS the key never leaves KMS: see kms-signer.ts.
 */
import { sign, type KeyObject } from 'node:crypto';
import { ConfigurationError } from '../shared/env';
import { parseEcdsaKey } from '../shared/config';
import type { Signer } from '../ports';

export class LocalSigner implements Signer {
  constructor(
    private readonly privateKey: KeyObject,
    readonly keyId: string,
    readonly keyVersion = 'v1',
  ) {
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new ConfigurationError(['export signing key must be a P-256 private key']);
    }
  }

  /** From `ECDSA_KEY` (hex DER SEC1, or PEM), as the configuration contract defines it. */
  static fromConfig(raw: string, keyId: string, keyVersion = 'v1'): LocalSigner {
    const parsed = parseEcdsaKey(raw);
    if (!parsed.ok) throw new ConfigurationError(parsed.problems);
    return new LocalSigner(parsed.value.privateKey, keyId, keyVersion);
  }

  /** DER `SEQUENCE { r, s }` over SHA-256(data). */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(sign('sha256', data, { key: this.privateKey, dsaEncoding: 'der' }));
  }
}
