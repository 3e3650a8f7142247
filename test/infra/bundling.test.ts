/** The one test that runs the real esbuild bundling (local, no Docker), as `cdk synth` does. */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { logicalIdAt, synthKeyServer } from './support/infra-app';

describe('bundling', () => {
  let outdir: string;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'infra-bundling-'));
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('bundles the services handler with the local esbuild into a loadable CommonJS module exporting `handler`', () => {
    // Prepare
    const { template } = synthKeyServer({ bundling: true, outdir });
    const fn = template.toJSON().Resources[logicalIdAt(template, 'Api/ServicesFunction/Function/Resource')];
    const assetDir = path.join(outdir, fn.Metadata['aws:asset:path'] as string);
    const bundle = path.join(assetDir, 'index.js');

    // Act
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(bundle) as { handler?: unknown };

    // Assess
    expect(fn.Metadata['aws:asset:is-bundled']).toBe(true);
    expect(existsSync(`${bundle}.map`)).toBe(true);
    expect(statSync(bundle).size).toBeLessThan(1024 * 1024);
    expect(typeof loaded.handler).toBe('function');
  });
});
