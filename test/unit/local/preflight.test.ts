import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const preflight = join(__dirname, '..', '..', '..', 'local', 'preflight.mjs');

test('without Java, the preflight stops at once and names the package to install', () => {
  // Prepare: a PATH holding only node, and no JAVA_HOME.
  const bin = mkdtempSync(join(tmpdir(), 'no-java-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  const env = { PATH: bin };

  // Act
  const result = spawnSync(join(bin, 'node'), [preflight], { env, encoding: 'utf8', timeout: 10_000 });

  // Assess
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('Java was not found');
  expect(result.stderr).toContain('openjdk-17-jre-headless');
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
});

test('with this machine\'s Java, the preflight passes silently', () => {
  const result = spawnSync(process.execPath, [preflight], { encoding: 'utf8', timeout: 10_000 });
  expect(result.status).toBe(0);
  expect(result.stderr).toBe('');
});

test('a JAVA_HOME without a java binary is reported, not crashed on', () => {
  const result = spawnSync(process.execPath, [preflight], { env: { ...process.env, JAVA_HOME: '/nonexistent' }, encoding: 'utf8', timeout: 10_000 });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('/nonexistent/bin/java');
});
