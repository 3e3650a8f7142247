/**
 * Retrieval on the shared runtime (its clock is never moved here): the exposure configuration
 * the app fetches (reference §7.1, §12 "Configuration fetches") and the acceptance round trip
 * with keys of this file only. Other files upload at the same time and bundles hold everyone's
 * keys, so the round trip asserts "exactly my keys among the keys with my key data"; the exact
 * "nothing else" version runs on a runtime of its own in retrieve.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { covidshield } from '../../../proto';
import { AppClient, loopbackFor, uploadOf } from '../../support/app-client';
import { ROOT } from '../../support/local-process';
import { fetchInfo, runtimeUrl } from '../../support/runtime';
import { UploadError } from '../submission/support';
import {
  bundleOf,
  CACHE_CLOSED,
  CACHE_OPEN,
  dayOf,
  exportHeader,
  keyId,
  midnightOf,
  periodOf,
  RetrievalClient,
  runBuildExports,
  SIGNATURE_INFO,
  signatureOf,
  verifiesWithNode,
  verifyWithOpenssl,
  ZIP,
} from './support';

const { ReportType } = covidshield.TemporaryExposureKey;
const get = (path: string) => new RetrievalClient(runtimeUrl(), '', { now: Date.now }, loopbackFor(__filename)).path(path);

describe('/exposure-configuration (served from the exports bucket, no edge function)', () => {
  const weights = ['attenuationWeight', 'daysSinceLastExposureWeight', 'durationWeight', 'transmissionRiskWeight'];
  const levelValues = ['attenuationLevelValues', 'daysSinceLastExposureLevelValues', 'durationLevelValues', 'transmissionRiskLevelValues'];
  const isInteger = (v: unknown) => Number.isInteger(v);

  test('CA.json: 200 application/json, the repo file byte for byte, valid under the app’s ExposureConfigurationSchema rules', async () => {
    // Act
    const response = await get('/exposure-configuration/CA.json');

    // Assess
    expect([response.status, response.headers['content-type']]).toEqual([200, 'application/json']);
    expect(response.body).toEqual(readFileSync(join(ROOT, 'exposure-configuration', 'CA.json')));
    const config = JSON.parse(response.text()) as Record<string, unknown>;
    const problems: string[] = [];
    const score = config.minimumRiskScore;
    if (!isInteger(score) || (score as number) < 0 || (score as number) > 4096) problems.push('minimumRiskScore not in 0..4096');
    const thresholds = config.attenuationDurationThresholds;
    if (!Array.isArray(thresholds) || thresholds.length !== 2 || !thresholds.every(isInteger)) problems.push('attenuationDurationThresholds not 2 integers');
    for (const name of [...new Set([...levelValues, ...Object.keys(config).filter((k) => k.endsWith('LevelValues'))])]) {
      const values = config[name];
      if (!Array.isArray(values) || values.length !== 8 || !values.every(isInteger)) problems.push(`${name} not 8 integers`);
    }
    for (const name of weights) {
      const weight = config[name];
      if (typeof weight !== 'number' || weight < 0 || weight > 100) problems.push(`${name} not in 0..100`);
    }
    const minutes = config.minimumExposureDurationMinutes;
    if (minutes !== undefined && (typeof minutes !== 'number' || minutes < 0 || minutes > 100)) problems.push('minimumExposureDurationMinutes not in 0..100');
    expect(problems).toEqual([]);
  });

  test('region.json: 200 application/json with Active (province codes) and en/fr RegionContent holding DiagnosedView, NoCode and ExposureView', async () => {
    // Act
    const response = await get('/exposure-configuration/region.json');

    // Assess
    expect([response.status, response.headers['content-type']]).toEqual([200, 'application/json']);
    const region = JSON.parse(response.text()) as Record<string, any>;
    expect(Array.isArray(region.Active) && region.Active.every((p: unknown) => typeof p === 'string' && /^[A-Z]{2}$/.test(p))).toBe(true);
    for (const language of ['en', 'fr']) {
      expect(Object.keys(region[language]?.RegionContent ?? {})).toEqual(expect.arrayContaining(['DiagnosedView', 'NoCode', 'ExposureView']));
    }
  });

  test.each(['/exposure-configuration/ON.json', '/exposure-configuration/missing.json'])('%s (not deployed): 404', async (path) => {
    // Act
    const response = await get(path);

    // Assess
    expect(response.status).toBe(404);
  });
});

describe('acceptance round trip on the shared runtime', () => {
  test('upload → build-exports → GET the submission day’s bundle: exactly my keys among those with my key data, in key-data order, with their fields; signature verifies', async () => {
    // Prepare
    const url = runtimeUrl();
    const info = await fetchInfo(url);
    const client = new AppClient(url, loopbackFor(__filename));
    const retrieval = new RetrievalClient(url, info.retrieveHmacKey, { now: Date.now }, loopbackFor(__filename));
    const today = dayOf(Date.now());
    const keys = [
      { keyData: new Uint8Array(randomBytes(16)), transmissionRiskLevel: 2, rollingStartIntervalNumber: midnightOf(today - 1), rollingPeriod: 144, reportType: ReportType.SELF_REPORT, daysSinceOnsetOfSymptoms: -2 },
      { keyData: new Uint8Array(randomBytes(16)), transmissionRiskLevel: 7, rollingStartIntervalNumber: midnightOf(today - 4) + 12, rollingPeriod: 132, reportType: ReportType.CONFIRMED_CLINICAL_DIAGNOSIS, daysSinceOnsetOfSymptoms: 4 },
      { keyData: new Uint8Array(randomBytes(16)), transmissionRiskLevel: 1, rollingStartIntervalNumber: midnightOf(today - 9), rollingPeriod: 144 },
    ];
    const mine = new Set(keys.map((k) => keyId(k.keyData)));
    const keySet = await client.newKeySet();
    const uploaded = await client.upload(keySet, uploadOf(keys));
    const submissionDay = dayOf(Date.now());

    // Act
    await runBuildExports(url);
    const response = await retrieval.retrieve(periodOf(submissionDay));

    // Assess
    expect([uploaded.status, UploadError[uploaded.error]]).toEqual([200, 'NONE']);
    // Today's bundle unless the UTC day turned over in between (then it is a closed day).
    const cacheControl = submissionDay === dayOf(Date.now()) ? CACHE_OPEN : CACHE_CLOSED;
    expect([response.status, response.headers['content-type'], response.headers['cache-control']]).toEqual([200, ZIP, cacheControl]);
    const bundle = bundleOf(response);
    expect(bundle.decoded.entryNames).toEqual(['export.bin', 'export.sig']);
    expect(exportHeader(bundle.decoded)).toEqual({
      startTimestamp: submissionDay * 86400,
      endTimestamp: (submissionDay + 1) * 86400,
      region: 'CA',
      batchNum: 1,
      batchSize: 1,
      signatureInfos: [SIGNATURE_INFO],
    });
    const signature = signatureOf(bundle.decoded);
    expect(verifiesWithNode(bundle.decoded.exportBin, signature, info.exportSigningPublicKeyPem)).toBe(true);
    expect(verifyWithOpenssl(bundle.decoded.exportBin, signature, info.exportSigningPublicKeyPem).status).toBe(0);
    // The whole bundle is in key-data order; mine appear in that order with their fields.
    expect(bundle.keyIds).toEqual([...bundle.keyIds].sort());
    expect(bundle.keys.filter((k) => mine.has(keyId(Buffer.from(k.keyData!, 'base64'))))).toEqual(
      [...keys]
        .sort((a, b) => Buffer.compare(Buffer.from(a.keyData), Buffer.from(b.keyData)))
        .map((k) => ({
          keyData: Buffer.from(k.keyData).toString('base64'),
          transmissionRiskLevel: k.transmissionRiskLevel,
          rollingStartIntervalNumber: k.rollingStartIntervalNumber,
          rollingPeriod: k.rollingPeriod,
          reportType: ReportType[k.reportType ?? ReportType.CONFIRMED_TEST],
          daysSinceOnsetOfSymptoms: k.daysSinceOnsetOfSymptoms ?? 0,
        })),
    );
  });
});
