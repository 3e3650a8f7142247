/**
 * CPU cost of one /upload in the domain: NaCl box open + protobuf decode + validation of 28 keys
 * with all six fields. Prints one JSON line.
 *
 *   node --import tsx bench/upload-domain.ts [iterations]
 */
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { covidshield } from '../proto';
import { validatePayload } from '../lambdas/domain/upload-keys';

const ITERATIONS = Number(process.argv[2] ?? 2000);

function main(): void {
  const nowMs = Date.now();
  const today = Math.floor(nowMs / 86_400_000) * 144;
  const app = nacl.box.keyPair();
  const server = nacl.box.keyPair();
  const plaintext = covidshield.Upload.encode({
    timestamp: { seconds: Math.floor(nowMs / 1000) },
    keys: Array.from({ length: 28 }, (_, i) => ({
      keyData: new Uint8Array(randomBytes(16)),
      transmissionRiskLevel: 1,
      rollingStartIntervalNumber: today - 144 * (i % 14),
      rollingPeriod: 144,
      reportType: 1,
      daysSinceOnsetOfSymptoms: -(i % 14),
    })),
  }).finish();
  const nonce = new Uint8Array(randomBytes(24));
  const payload = nacl.box(plaintext, nonce, server.publicKey, app.secretKey);

  for (let i = 0; i < 50; i += 1) validatePayload(nacl.box.open(payload, nonce, app.publicKey, server.secretKey)!, nowMs);
  const t0 = performance.now();
  for (let i = 0; i < ITERATIONS; i += 1) {
    const opened = nacl.box.open(payload, nonce, app.publicKey, server.secretKey);
    const keys = validatePayload(opened!, nowMs);
    if (typeof keys === 'string' || keys.length !== 28) throw new Error(`unexpected ${String(keys)}`);
  }
  const ms = performance.now() - t0;
  console.log(
    JSON.stringify({
      bench: 'upload-domain',
      iterations: ITERATIONS,
      payloadBytes: payload.length,
      meanMs: Math.round((ms / ITERATIONS) * 1000) / 1000,
      perSecond: Math.round((ITERATIONS / ms) * 1000),
    }),
  );
}

main();
