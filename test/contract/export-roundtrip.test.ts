/**
 * The export file as this server writes it (lambdas/domain/export-file.ts): encodeExport →
 * decodeExport round trip with signature verification, the exact header and SignatureInfo bytes,
 * zip entry names and order, a golden export.bin, and the committed export.sig verified by
 * `openssl` against the committed public key — the check an operator would run by hand.
 *
 * Fixtures in fixtures/exports/ (see its README): regenerate only on purpose with
 *   UPDATE_GOLDEN=1 npx jest --selectProjects contract
 * export.bin must not change unless the wire format does; export.sig changes on every
 * regeneration (ECDSA is randomized).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verify } from 'node:crypto';
import { zipSync } from 'fflate';
import { LocalSigner } from '../../lambdas/adapters/local-signer';
import { selectKeys } from '../../lambdas/domain/bundles';
import {
  decodeExport,
  encodeExport,
  encodeExportBin,
  ExportEncodingError,
  ExportFormatError,
  zipExport,
  type ExportContent,
} from '../../lambdas/domain/export-file';
import type { StoredKey } from '../../lambdas/ports';
import { EXPORT_BIN_HEADER, SIGNATURE_ALGORITHM_OID, enexport, int64ToNumber } from '../../proto';
import { DOS_DATE_1980_01_01, publicKeyPem, testSigningKey, zipDirectory } from '../support/builders/exports';
import { FIXTURES_DIR, counting, golden, toHex } from './golden';

const { ReportType } = enexport.TemporaryExposureKey;
const DAY = 18_518; // 2020-09-13 (UTC)
const GOLDEN_KEY = testSigningKey('golden-export');
const SIGNER = new LocalSigner(GOLDEN_KEY, '302', 'v1');

/** Three keys, deliberately out of order: one with no report type or onset (exported 1 and 0). */
const KEYS: StoredKey[] = [
  { keyData: counting(16, 0xc0), rollingStartIntervalNumber: (DAY - 2) * 144, rollingPeriod: 144, transmissionRiskLevel: 6, reportType: ReportType.CONFIRMED_CLINICAL_DIAGNOSIS, daysSinceOnsetOfSymptoms: 3 },
  { keyData: counting(16, 0x01), rollingStartIntervalNumber: (DAY - 3) * 144, rollingPeriod: 144, transmissionRiskLevel: 4 },
  { keyData: counting(16, 0x80), rollingStartIntervalNumber: (DAY - 1) * 144 + 6, rollingPeriod: 72, transmissionRiskLevel: 2, reportType: ReportType.SELF_REPORT, daysSinceOnsetOfSymptoms: -5 },
];
const CONTENT: ExportContent = {
  startTimestamp: DAY * 86_400,
  endTimestamp: (DAY + 1) * 86_400,
  region: 'CA',
  keys: selectKeys(KEYS, (DAY + 1) * 86_400_000),
};
/** The keys as they must come out, in key-data order, every field present. */
const EXPECTED_KEYS = [
  { keyData: counting(16, 0x01), transmissionRiskLevel: 4, rollingStartIntervalNumber: (DAY - 3) * 144, rollingPeriod: 144, reportType: ReportType.CONFIRMED_TEST, daysSinceOnsetOfSymptoms: 0 },
  { keyData: counting(16, 0x80), transmissionRiskLevel: 2, rollingStartIntervalNumber: (DAY - 1) * 144 + 6, rollingPeriod: 72, reportType: ReportType.SELF_REPORT, daysSinceOnsetOfSymptoms: -5 },
  { keyData: counting(16, 0xc0), transmissionRiskLevel: 6, rollingStartIntervalNumber: (DAY - 2) * 144, rollingPeriod: 144, reportType: ReportType.CONFIRMED_CLINICAL_DIAGNOSIS, daysSinceOnsetOfSymptoms: 3 },
];
const SIGNATURE_INFO_V1 = { verificationKeyVersion: 'v1', verificationKeyId: '302', signatureAlgorithm: SIGNATURE_ALGORITHM_OID };

const plainKey = (k: enexport.ITemporaryExposureKey | enexport.TemporaryExposureKey) =>
  enexport.TemporaryExposureKey.toObject(k as enexport.TemporaryExposureKey);
const plainInfo = (i: enexport.SignatureInfo.$Properties | null | undefined) =>
  enexport.SignatureInfo.toObject(i as enexport.SignatureInfo);

describe('export round trip: encodeExport → decodeExport', () => {
  test('entries, header, window, region, batch, SignatureInfo, keys in order with all six fields, and a valid signature', async () => {
    // Act
    const { zip, exportBin } = await encodeExport(CONTENT, [SIGNER]);
    const decoded = decodeExport(zip);

    // Assess
    expect(decoded.entryNames).toEqual(['export.bin', 'export.sig']);
    expect(zipDirectory(zip).map((e) => e.name)).toEqual(['export.bin', 'export.sig']);
    expect(Buffer.from(decoded.exportBin)).toEqual(Buffer.from(exportBin));
    expect(toHex(decoded.exportBin.subarray(0, 16))).toBe('45 4b 20 45 78 70 6f 72 74 20 76 31 20 20 20 20');
    const e = decoded.export;
    expect([int64ToNumber(e.startTimestamp), int64ToNumber(e.endTimestamp)]).toEqual([DAY * 86_400, (DAY + 1) * 86_400]);
    expect([e.region, e.batchNum, e.batchSize]).toEqual(['CA', 1, 1]);
    expect(e.signatureInfos.map(plainInfo)).toEqual([SIGNATURE_INFO_V1]);
    expect(e.keys.map(plainKey)).toEqual(EXPECTED_KEYS);
    expect(e.revisedKeys).toEqual([]);
    expect(decoded.signatureList.signatures).toHaveLength(1);
    const [sig] = decoded.signatureList.signatures;
    expect(plainInfo(sig.signatureInfo)).toEqual(SIGNATURE_INFO_V1);
    expect([sig.batchNum, sig.batchSize]).toEqual([1, 1]);
    expect(sig.signature![0]).toBe(0x30); // DER SEQUENCE, not raw r||s
    expect(verify('sha256', decoded.exportBin, { key: GOLDEN_KEY, dsaEncoding: 'der' }, sig.signature!)).toBe(true);
  });

  test('the signature covers the whole export.bin, header included', async () => {
    // Prepare
    const { zip } = await encodeExport(CONTENT, [SIGNER]);
    const { exportBin, signatureList } = decodeExport(zip);
    const signature = signatureList.signatures[0].signature!;

    // Act
    const overWhole = verify('sha256', exportBin, GOLDEN_KEY, signature);
    const overProtobufOnly = verify('sha256', exportBin.subarray(16), GOLDEN_KEY, signature);

    // Assess
    expect([overWhole, overProtobufOnly]).toEqual([true, false]);
  });

  test('two signers (rotation): two SignatureInfos and two TEKSignatures, newest first, each verifying with its own key only', async () => {
    // Prepare
    const newKey = testSigningKey('rotation-v2');
    const signers = [new LocalSigner(newKey, '302', 'v2'), SIGNER];

    // Act
    const { export: e, exportBin, signatureList } = decodeExport((await encodeExport(CONTENT, signers)).zip);

    // Assess
    const v2 = { ...SIGNATURE_INFO_V1, verificationKeyVersion: 'v2' };
    expect(e.signatureInfos.map(plainInfo)).toEqual([v2, SIGNATURE_INFO_V1]);
    expect(signatureList.signatures.map((s) => plainInfo(s.signatureInfo))).toEqual([v2, SIGNATURE_INFO_V1]);
    expect(signatureList.signatures.map((s) => [s.batchNum, s.batchSize])).toEqual([[1, 1], [1, 1]]);
    const [newest, older] = signatureList.signatures.map((s) => s.signature!);
    expect(verify('sha256', exportBin, newKey, newest)).toBe(true);
    expect(verify('sha256', exportBin, GOLDEN_KEY, older)).toBe(true);
    expect(verify('sha256', exportBin, GOLDEN_KEY, newest)).toBe(false);
  });

  test('an empty export is signed and has no keys field on the wire', async () => {
    // Act
    const { zip } = await encodeExport({ ...CONTENT, keys: [] }, [SIGNER]);
    const decoded = decodeExport(zip);

    // Assess
    expect(decoded.export.keys).toEqual([]);
    expect(decoded.exportBin.includes(0x3a)).toBe(false); // tag of field 7 (keys)
    expect(verify('sha256', decoded.exportBin, GOLDEN_KEY, decoded.signatureList.signatures[0].signature!)).toBe(true);
  });
});

describe('determinism and zip layout', () => {
  test('same input → the same export.bin and the same zip layout; only export.sig differs', async () => {
    // Act
    const first = await encodeExport(CONTENT, [SIGNER]);
    const second = await encodeExport(CONTENT, [SIGNER]);

    // Assess
    expect(Buffer.from(second.exportBin)).toEqual(Buffer.from(first.exportBin));
    const [binA, sigA] = zipDirectory(first.zip);
    const [binB, sigB] = zipDirectory(second.zip);
    expect(binB).toEqual(binA);
    expect(sigB.localHeaderOffset).toBe(sigA.localHeaderOffset);
    // The zip bytes up to the export.sig entry (export.bin's header and data) are identical.
    expect(Buffer.from(second.zip.subarray(0, sigB.localHeaderOffset))).toEqual(Buffer.from(first.zip.subarray(0, sigA.localHeaderOffset)));
  });

  test('export.bin is deflated, export.sig stored; both dated 1980-01-01 00:00', async () => {
    // Act
    const { zip } = await encodeExport(CONTENT, [SIGNER]);

    // Assess
    const [bin, sig] = zipDirectory(zip);
    expect([bin.method, sig.method]).toEqual([8, 0]);
    expect([bin.dosDate, bin.dosTime, sig.dosDate, sig.dosTime]).toEqual([DOS_DATE_1980_01_01, 0, DOS_DATE_1980_01_01, 0]);
  });

  test('the zip entry time does not depend on the machine\'s time zone', () => {
    // Prepare
    const bin = encodeExportBin(CONTENT, [SIGNER]);
    const sig = new Uint8Array([1, 2, 3]);
    const originalTz = process.env.TZ;
    const layouts: Buffer[] = [];

    // Act
    try {
      for (const tz of ['UTC', 'Pacific/Kiritimati', 'America/St_Johns']) {
        process.env.TZ = tz;
        layouts.push(Buffer.from(zipExport(bin, sig)));
      }
    } finally {
      if (originalTz === undefined) delete process.env.TZ;
      else process.env.TZ = originalTz;
    }

    // Assess
    expect(layouts[1]).toEqual(layouts[0]);
    expect(layouts[2]).toEqual(layouts[0]);
  });
});

describe('refusals', () => {
  test('keys out of key-data order are refused (order must never reveal arrival)', () => {
    // Act
    const encode = () => encodeExportBin({ ...CONTENT, keys: KEYS }, [SIGNER]);

    // Assess
    expect(encode).toThrow(ExportEncodingError);
  });

  test('no signer, or more than 10, is refused', () => {
    // Act / Assess
    expect(() => encodeExportBin(CONTENT, [])).toThrow(ExportEncodingError);
    expect(() => encodeExportBin(CONTENT, Array.from({ length: 11 }, (_, i) => ({ keyId: '302', keyVersion: `v${i}` })))).toThrow(ExportEncodingError);
  });

  test.each([
    ['not a zip', () => new Uint8Array([1, 2, 3])],
    ['a zip without export.sig', () => zipSync({ 'export.bin': encodeExportBin(CONTENT, [SIGNER]) })],
    ['an export.bin without the header', () => zipExport(new Uint8Array(20), new Uint8Array([0x0a, 0x00]))],
  ])('decodeExport refuses %s', (_label, build) => {
    // Prepare
    const bytes = build();

    // Act
    const decode = () => decodeExport(bytes);

    // Assess
    expect(decode).toThrow(ExportFormatError);
  });
});

describe('golden export (fixtures/exports/)', () => {
  const dir = path.join(FIXTURES_DIR, 'exports');
  let fixtures: { bin: Buffer; sig: Buffer; zip: Buffer; pub: string };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const { zip, exportBin } = await encodeExport(CONTENT, [SIGNER]);
    const { signatureList } = decodeExport(zip);
    // golden() rewrites a file only with UPDATE_GOLDEN=1; otherwise it returns the committed one.
    fixtures = {
      bin: golden('exports/export.bin', exportBin),
      sig: golden('exports/export.sig', enexport.TEKSignatureList.encode(signatureList).finish()),
      zip: golden('exports/export.zip', zip),
      pub: golden('exports/pub.pem', Buffer.from(publicKeyPem(GOLDEN_KEY))).toString('ascii'),
    };
  });

  test('export.bin of three keys at fixed timestamps is byte-for-byte the committed file', () => {
    // Act
    const bin = encodeExportBin(CONTENT, [SIGNER]);

    // Assess
    expect(toHex(bin)).toBe(toHex(fixtures.bin));
    expect(fixtures.bin.subarray(0, 16)).toEqual(EXPORT_BIN_HEADER);
  });

  test('the committed public key is the test signing key\'s', () => {
    // Act / Assess
    expect(fixtures.pub).toBe(publicKeyPem(GOLDEN_KEY));
  });

  test('the committed export.zip holds exactly the committed export.bin and export.sig', () => {
    // Act
    const decoded = decodeExport(fixtures.zip);

    // Assess
    expect(decoded.entryNames).toEqual(['export.bin', 'export.sig']);
    expect(Buffer.from(decoded.exportBin)).toEqual(fixtures.bin);
    expect(Buffer.from(enexport.TEKSignatureList.encode(decoded.signatureList).finish())).toEqual(fixtures.sig);
  });

  const hasTool = (tool: string) => spawnSync(tool, ['-h'], { stdio: 'ignore' }).error === undefined;
  const withOpenssl = hasTool('openssl') ? test : test.skip;
  const withUnzip = hasTool('unzip') ? test : test.skip;

  withOpenssl('openssl verifies the committed export.sig over the committed export.bin with pub.pem, and rejects a changed byte', () => {
    // Prepare: export.sig is a TEKSignatureList; openssl wants the bare DER signature
    const work = mkdtempSync(path.join(tmpdir(), 'export-sig-'));
    try {
      const [entry] = enexport.TEKSignatureList.decode(fixtures.sig).signatures;
      writeFileSync(path.join(work, 'export.sig.der'), entry.signature!);
      writeFileSync(path.join(work, 'pub.pem'), fixtures.pub);
      writeFileSync(path.join(work, 'export.bin'), fixtures.bin);
      const tampered = Buffer.from(fixtures.bin);
      tampered[tampered.length - 1] ^= 0x01;
      writeFileSync(path.join(work, 'tampered.bin'), tampered);
      const opensslVerify = (file: string) =>
        spawnSync('openssl', ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'export.sig.der', file], { cwd: work, encoding: 'utf8' });

      // Act
      const good = opensslVerify('export.bin');
      const bad = opensslVerify('tampered.bin');

      // Assess
      expect(good.stdout.trim()).toBe('Verified OK');
      expect(good.status).toBe(0);
      expect(bad.stdout.trim()).toBe('Verification failure');
      expect(bad.status).not.toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  withUnzip('unzip -t accepts the committed export.zip and lists export.bin then export.sig', () => {
    // Act
    const listing = execFileSync('unzip', ['-t', path.join(dir, 'export.zip')], { encoding: 'utf8' });

    // Assess
    expect(listing).toMatch(/testing: export\.bin\s+OK[\s\S]*testing: export\.sig\s+OK/);
    expect(listing).toContain('No errors detected');
  });
});
