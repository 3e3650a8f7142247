/**
 * `npm run bench`: runs every benchmark in its own process (clean memory figures) and writes
 * BENCHMARKS.md. Figures are from this machine at the time of the run; read them as sizes.
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const BENCHES = [
  { file: 'export-750k.ts', args: [], about: 'one 750 000-key export bundle: select, sort, protobuf, sign, zip (domain code)' },
  { file: 'upload-domain.ts', args: ['2000'], about: 'one /upload in the domain: box open + decode + validate 28 keys' },
  { file: 'http-sequence.ts', args: ['40'], about: 'issue → claim → 28-key upload over HTTP on the local runtime (DynamoDB Local)' },
];

const results: { file: string; about: string; result: Record<string, unknown> }[] = [];
for (const bench of BENCHES) {
  process.stdout.write(`bench ${bench.file} … `);
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', bench.file), ...bench.args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = run.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (run.status !== 0 || !line) {
    console.error(`failed\n${run.stderr}`);
    process.exit(1);
  }
  const result = JSON.parse(line) as Record<string, unknown>;
  console.log(line);
  results.push({ file: bench.file, about: bench.about, result });
}

const rows = results.map(({ file, about, result }) => {
  const figures = Object.entries(result)
    .filter(([key]) => key !== 'bench')
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join('<br>');
  return `| \`bench/${file}\` | ${about} | ${figures} |`;
});

writeFileSync(
  join(ROOT, 'BENCHMARKS.md'),
  [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Shared, noisy machine: read figures as sizes, not exact values.`,
    '',
    '| benchmark | what | figures |',
    '|---|---|---|',
    ...rows,
    '',
    'Targets: a 750 000-key bundle (Apple’s per-file maximum) builds with peak RSS under 1 GiB.',
    '',
  ].join('\n'),
);
console.log('wrote BENCHMARKS.md');
