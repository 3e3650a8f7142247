/**
 * Golden round trips for the app <-> server messages (proto/covidalert.proto): each message encodes
 * to exactly the committed bytes in fixtures/, and those bytes decode back to the input.
 * Regenerate fixtures only on purpose: UPDATE_GOLDEN=1 npx jest --selectProjects contract.
 */
import { covidshield } from '../../proto';
import { counting, golden, goldenCase, toHex } from './golden';

const ONE_TIME_CODE = 'AEF245KLQR'; // 10 chars, groups 3/3/4: letters, digits, letters
const APP_PUBLIC_KEY = counting(32, 0x01);
const SERVER_PUBLIC_KEY = counting(32, 0x41);
const NONCE = counting(24, 0x81);
const PAYLOAD = counting(48, 0xa1); // stands for box(Upload): ciphertext + 16-byte MAC

const { ErrorCode: ClaimError } = covidshield.KeyClaimResponse;
const { ErrorCode: UploadError } = covidshield.EncryptedUploadResponse;
const { ReportType } = covidshield.TemporaryExposureKey;

const cases = [
  goldenCase('key-claim-request.bin', covidshield.KeyClaimRequest, {
    oneTimeCode: ONE_TIME_CODE,
    appPublicKey: APP_PUBLIC_KEY,
  }),
  // Success: error absent (decodes as NONE), no ban duration.
  goldenCase('key-claim-response-success.bin', covidshield.KeyClaimResponse, {
    serverPublicKey: SERVER_PUBLIC_KEY,
    triesRemaining: 50,
  }),
  // INVALID_ONE_TIME_CODE always carries the duration, an empty one when there is no ban.
  goldenCase('key-claim-response-invalid-code.bin', covidshield.KeyClaimResponse, {
    error: ClaimError.INVALID_ONE_TIME_CODE,
    triesRemaining: 49,
    remainingBanDuration: {},
  }),
  goldenCase('key-claim-response-temporary-ban.bin', covidshield.KeyClaimResponse, {
    error: ClaimError.TEMPORARY_BAN,
    triesRemaining: 0,
    remainingBanDuration: { seconds: 3599, nanos: 500_000_000 },
  }),
  goldenCase('encrypted-upload-request.bin', covidshield.EncryptedUploadRequest, {
    serverPublicKey: SERVER_PUBLIC_KEY,
    appPublicKey: APP_PUBLIC_KEY,
    nonce: NONCE,
    payload: PAYLOAD,
  }),
  goldenCase('encrypted-upload-response-none.bin', covidshield.EncryptedUploadResponse, {
    error: UploadError.NONE,
  }),
  goldenCase('encrypted-upload-response-invalid-keypair.bin', covidshield.EncryptedUploadResponse, {
    error: UploadError.INVALID_KEYPAIR,
  }),
  goldenCase('upload.bin', covidshield.Upload, {
    timestamp: { seconds: 1_600_000_000, nanos: 250_000_000 },
    keys: [
      {
        // All six fields, as this server accepts them.
        keyData: counting(16, 0x10),
        transmissionRiskLevel: 4,
        rollingStartIntervalNumber: 2_666_880,
        rollingPeriod: 144,
        reportType: ReportType.CONFIRMED_TEST,
        daysSinceOnsetOfSymptoms: -3,
      },
      {
        // rolling_period absent (means 144), no report type, no onset.
        keyData: counting(16, 0x20),
        transmissionRiskLevel: 0,
        rollingStartIntervalNumber: 2_667_024,
      },
    ],
  }),
];

describe('covidalert.proto golden fixtures', () => {
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

  it('a 28-key upload with all six fields fits the 2048-byte cap but not upstream 1024', () => {
    // Prepare: the largest realistic keys: 4-byte RSIN varints, 2-byte rolling period.
    const keys = Array.from({ length: 28 }, (_, i) => ({
      keyData: counting(16, i),
      transmissionRiskLevel: 8,
      rollingStartIntervalNumber: 2_900_000 + i * 144,
      rollingPeriod: 144,
      reportType: ReportType.SELF_REPORT,
      daysSinceOnsetOfSymptoms: -14,
    }));
    const timestamp = { seconds: 1_740_000_000, nanos: 999_999_999 };
    const upload = covidshield.Upload.encode({ timestamp, keys }).finish();

    // Act
    const request = covidshield.EncryptedUploadRequest.encode({
      serverPublicKey: SERVER_PUBLIC_KEY,
      appPublicKey: APP_PUBLIC_KEY,
      nonce: NONCE,
      payload: Buffer.alloc(upload.length + 16), // box adds a 16-byte MAC
    }).finish();

    // Assess
    expect(request.length).toBeGreaterThan(1024);
    expect(request.length).toBeLessThanOrEqual(2048);
  });
});
