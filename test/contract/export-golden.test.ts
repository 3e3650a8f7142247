/**
 * Golden fixtures for the export format (proto/export.proto): a complete export.bin (16-byte header
 * + TemporaryExposureKeyExport) and export.sig (TEKSignatureList) as this server writes them, plus
 * an export with no keys (an empty bundle is still served, signed).
 * Regenerate fixtures only on purpose: UPDATE_GOLDEN=1 npx jest --selectProjects contract.
 */
import { EXPORT_BIN_HEADER, SIGNATURE_ALGORITHM_OID, enexport } from '../../proto';
import { counting, golden, goldenCase, toHex } from './golden';

const DAY = 18_518; // 2020-09-13 (UTC), as a date number
const SIGNATURE_INFO = {
  verificationKeyVersion: 'v1',
  verificationKeyId: '302',
  signatureAlgorithm: SIGNATURE_ALGORITHM_OID,
};
// Shaped like a DER ECDSA signature: SEQUENCE(0x30, 68) { INTEGER(32 bytes) r, INTEGER(32 bytes) s }.
const SIGNATURE = Buffer.concat([
  Buffer.from([0x30, 0x44, 0x02, 0x20]),
  counting(32, 0x11),
  Buffer.from([0x02, 0x20]),
  counting(32, 0x51),
]);
const { ReportType } = enexport.TemporaryExposureKey;

/** The export of one day as this server writes it, before the keys. */
const EXPORT_WITHOUT_KEYS = {
  startTimestamp: DAY * 86_400,
  endTimestamp: (DAY + 1) * 86_400,
  region: 'CA',
  batchNum: 1,
  batchSize: 1,
  signatureInfos: [SIGNATURE_INFO],
};

/** Every key with all six fields, as upstream exported them; sorted by key data. */
const EXPORT = {
  ...EXPORT_WITHOUT_KEYS,
  keys: [
    {
      keyData: counting(16, 0x01),
      transmissionRiskLevel: 4,
      rollingStartIntervalNumber: (DAY - 3) * 144,
      rollingPeriod: 144,
      reportType: ReportType.CONFIRMED_TEST,
      daysSinceOnsetOfSymptoms: 0,
    },
    {
      keyData: counting(16, 0x80),
      transmissionRiskLevel: 2,
      rollingStartIntervalNumber: (DAY - 1) * 144 + 6,
      rollingPeriod: 72,
      reportType: ReportType.SELF_REPORT,
      daysSinceOnsetOfSymptoms: -5,
    },
  ],
};

const cases = [
  // An empty bundle: no keys means no field 7 at all on the wire.
  goldenCase('export-no-keys.pb', enexport.TemporaryExposureKeyExport, EXPORT_WITHOUT_KEYS),
  goldenCase('export.sig', enexport.TEKSignatureList, {
    signatures: [{ signatureInfo: SIGNATURE_INFO, batchNum: 1, batchSize: 1, signature: SIGNATURE }],
  }),
];

describe('export.proto golden fixtures', () => {
  it('export.bin: header + TemporaryExposureKeyExport gives the golden bytes, which decode to the input', () => {
    // Prepare
    const build = (): Buffer =>
      Buffer.concat([EXPORT_BIN_HEADER, enexport.TemporaryExposureKeyExport.encode(EXPORT).finish()]);
    const expected = golden('export.bin', build());

    // Act
    const bin = build();
    const decoded = enexport.TemporaryExposureKeyExport.toObject(
      enexport.TemporaryExposureKeyExport.decode(expected.subarray(16)),
      { longs: Number },
    );

    // Assess
    expect(toHex(bin)).toBe(toHex(expected));
    expect(toHex(expected.subarray(0, 16))).toBe('45 4b 20 45 78 70 6f 72 74 20 76 31 20 20 20 20');
    expect(decoded).toEqual(EXPORT);
  });

  it.each(cases)('$fixture: encodes to the golden bytes, which decode to the input', (testCase) => {
    // Prepare
    const expected = golden(testCase.fixture, testCase.encode());

    // Act
    const encoded = testCase.encode();
    const decoded = testCase.decodeToPlain(expected);

    // Assess
    expect(toHex(encoded)).toBe(toHex(expected));
    expect(decoded).toEqual(testCase.input);
  });
});
