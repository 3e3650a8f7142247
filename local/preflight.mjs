#!/usr/bin/env node
// Runs before `npm start` and `npm test`: stops at once, with a clear message, when the machine
// lacks what the embedded DynamoDB Local needs (Java ≥ 17) or runs an unsupported Node.js.
// Plain JavaScript on purpose: it must work before anything else is known to work.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const problems = [];

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  problems.push(`Node.js ${process.versions.node} is too old: install Node.js 20.19 or newer.`);
}

const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
const install = 'install Java 17 or newer (Debian/Ubuntu: `sudo apt-get install -y openjdk-17-jre-headless`)';
if (result.error) {
  problems.push(`Java was not found (${java}): DynamoDB Local runs on Java; ${install}, or set JAVA_HOME.`);
} else {
  const text = `${result.stderr}${result.stdout}`;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  const javaMajor = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!(javaMajor >= 17)) {
    problems.push(`Java ${Number.isNaN(javaMajor) ? '(unknown version)' : javaMajor} found at ${java}, but DynamoDB Local needs 17 or newer: ${install}.`);
  }
}

if (problems.length > 0) {
  console.error(`Cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
