/**
 * One 750 000-key bundle (Apple's per-file maximum) built through the domain code: selectKeys
 * (RSIN filter + key-data sort) and encodeExport (protobuf, one LocalSigner, zip), as
 * build-exports does for its largest bundle. Prints one JSON line: wall times, sizes and the
 * process's peak RSS (process.resourceUsage().maxRSS, inputs included).
 *
 *   node --import tsx bench/export-750k.ts [keyCount]
 *
 * Inputs are deterministic (key data from a SHA-256 counter) and, like DynamoDB items, each key
 * has its own Uint8Array.
 */
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { LocalSigner } from '../lambdas/adapters/local-signer';
import { selectKeys } from '../lambdas/domain/bundles';
import { decodeExport, encodeExport } from '../lambdas/domain/export-file';
import type { StoredKey } from '../lambdas/ports';

const MiB = 1024 * 1024;
const KEY_COUNT = Number(process.argv[2] ?? 750_000);
const NOW_MS = Date.UTC(2024, 2, 14, 10, 20);
const TODAY = Math.floor(NOW_MS / 86_400_000);

function makeKeys(count: number): StoredKey[] {
  const keys: StoredKey[] = new Array(count);
  let block = Buffer.alloc(0);
  for (let i = 0; i < count; i += 1) {
    if (i % 2 === 0) block = createHash('sha256').update(`bench-key:${i}`).digest();
    const day = TODAY - 1 - (i % 13);
    keys[i] = {
      keyData: new Uint8Array(block.subarray((i % 2) * 16, (i % 2) * 16 + 16)),
      rollingStartIntervalNumber: day * 144,
      rollingPeriod: 144,
      transmissionRiskLevel: i % 9,
      ...(i % 4 === 0 ? {} : { reportType: 1 + (i % 3) }),
      ...(i % 5 === 0 ? {} : { daysSinceOnsetOfSymptoms: (i % 29) - 14 }),
    };
  }
  return keys;
}

async function main(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new LocalSigner(privateKey, '302', 'v1');
  const keys = makeKeys(KEY_COUNT);
  const rssBeforeMiB = process.memoryUsage().rss / MiB;

  const t0 = performance.now();
  const selected = selectKeys(keys, NOW_MS);
  const t1 = performance.now();
  const { zip, exportBin } = await encodeExport(
    { startTimestamp: (TODAY - 1) * 86_400, endTimestamp: TODAY * 86_400, region: 'CA', keys: selected },
    [signer],
  );
  const t2 = performance.now();
  const maxRssMiB = (process.resourceUsage().maxRSS * 1024) / MiB;

  // Sanity, outside the measurement: every key kept, and the signature verifies.
  if (selected.length !== KEY_COUNT) throw new Error(`expected ${KEY_COUNT} keys, selected ${selected.length}`);
  const signature = decodeExport(zip).signatureList.signatures[0].signature!;
  if (!verify('sha256', exportBin, publicKey, signature)) throw new Error('signature does not verify');

  const round = (n: number) => Math.round(n * 10) / 10;
  console.log(
    JSON.stringify({
      bench: 'export-750k',
      keys: selected.length,
      selectMs: round(t1 - t0),
      encodeMs: round(t2 - t1),
      totalMs: round(t2 - t0),
      exportBinBytes: exportBin.length,
      zipBytes: zip.length,
      rssBeforeMiB: round(rssBeforeMiB),
      maxRssMiB: round(maxRssMiB),
      node: process.version,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
