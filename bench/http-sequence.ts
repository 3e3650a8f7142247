/**
 * The app's sequence over HTTP against the local runtime (real DynamoDB Local and S3 server):
 * new-key-claim → claim-key → upload of 28 keys, N times in sequence, with per-endpoint latency
 * percentiles. Local figures measure our code plus DynamoDB Local, not AWS.
 *
 *   node --import tsx bench/http-sequence.ts [rounds]
 */
import nacl from 'tweetnacl';
import { freePort } from '../local/ports';
import { AppClient, tek, uploadOf } from '../test/support/app-client';
import { startLocalProcess } from '../test/support/local-process';

const ROUNDS = Number(process.argv[2] ?? 40);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
};

async function main(): Promise<void> {
  const runtime = await startLocalProcess({ name: 'bench-http', port: await freePort() });
  try {
    const client = new AppClient(runtime.url);
    const times: Record<'issue' | 'claim' | 'upload', number[]> = { issue: [], claim: [], upload: [] };
    const midnight = Math.floor(Date.now() / 86_400_000) * 144;
    for (let round = 0; round < ROUNDS + 5; round += 1) {
      const t0 = performance.now();
      const code = await client.newCode();
      const t1 = performance.now();
      const app = nacl.box.keyPair();
      const claimed = await client.claim(code, app.publicKey);
      const t2 = performance.now();
      const keys = Array.from({ length: 28 }, (_, i) => tek({ rollingStartIntervalNumber: midnight - 144 * (i % 14) }));
      const uploaded = await client.upload({ code, app, serverPublicKey: claimed.message.serverPublicKey }, uploadOf(keys));
      const t3 = performance.now();
      if (claimed.status !== 200 || uploaded.status !== 200) throw new Error(`round ${round}: ${claimed.status} ${uploaded.status}`);
      if (round < 5) continue; // warm-up
      times.issue.push(t1 - t0);
      times.claim.push(t2 - t1);
      times.upload.push(t3 - t2);
    }
    const summary = Object.fromEntries(
      Object.entries(times).map(([name, values]) => [name, { p50Ms: percentile(values, 50), p95Ms: percentile(values, 95) }]),
    );
    console.log(JSON.stringify({ bench: 'http-sequence', rounds: ROUNDS, ...summary }));
  } finally {
    await runtime.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
