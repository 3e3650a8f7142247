/**
 * Field numbers, wire types, enum values and proto2 defaults of proto/covidalert.proto, proven with
 * bytes written out by hand from the reference tables (upstream-server.md §4, §5), independently of
 * protobufjs's encoder. Tag byte = (field number << 3) | wire type; wire types: 0 varint,
 * 1 fixed64, 2 length-delimited, 5 fixed32.
 */
import { covidshield, readerKeepingUnknowns, unknownFieldNumbers, int64ToNumber } from '../../proto';
import { counting, hex, toHex } from './golden';

const { KeyClaimRequest, KeyClaimResponse, EncryptedUploadRequest, EncryptedUploadResponse, Upload } = covidshield;
const { TemporaryExposureKey } = covidshield;

describe('covidalert.proto on the wire', () => {
  it('KeyClaimRequest: one_time_code is field 1 (string), app_public_key field 2 (bytes)', () => {
    // Prepare
    const bytes = hex(`
      0a 0a                            // field 1, wire type 2; length 10
      41 45 46 32 34 35 4b 4c 51 52    // "AEF245KLQR"
      12 20                            // field 2, wire type 2; length 32
      ${toHex(counting(32))}           // the app's public key
    `);

    // Act
    const request = KeyClaimRequest.decode(bytes);

    // Assess
    expect(request.oneTimeCode).toBe('AEF245KLQR');
    expect(Buffer.from(request.appPublicKey)).toEqual(counting(32));
  });

  it('EncryptedUploadResponse{error: NONE} encodes to exactly 08 00 (NONE is sent explicitly)', () => {
    // Prepare
    const response = { error: EncryptedUploadResponse.ErrorCode.NONE };

    // Act
    const bytes = EncryptedUploadResponse.encode(response).finish();

    // Assess
    expect(toHex(bytes)).toBe('08 00'); // field 1, varint; value 0
  });

  it('EncryptedUploadResponse: error is field 1 (enum varint)', () => {
    // Prepare
    const bytes = hex(`
      08 0e   // field 1, wire type 0; NO_KEYS_IN_PAYLOAD = 14
    `);

    // Act
    const response = EncryptedUploadResponse.decode(bytes);

    // Assess
    expect(response.error).toBe(EncryptedUploadResponse.ErrorCode.NO_KEYS_IN_PAYLOAD);
  });

  it('KeyClaimResponse: error 1, tries_remaining 3 (uint32), remaining_ban_duration 4 (Duration 1 seconds, 2 nanos)', () => {
    // Prepare
    const bytes = hex(`
      08 05              // field 1, varint; TEMPORARY_BAN = 5
      18 00              // field 3, varint; tries_remaining 0
      22 09              // field 4, wire type 2; length 9: a google.protobuf.Duration
        08 8f 1c         //   field 1 seconds, varint; 3599 = 0x0f | 0x1c << 7
        10 80 ca b5 ee 01 //  field 2 nanos, varint; 500 000 000
    `);

    // Act
    const response = KeyClaimResponse.decode(bytes);

    // Assess
    expect(response.error).toBe(KeyClaimResponse.ErrorCode.TEMPORARY_BAN);
    expect(response.triesRemaining).toBe(0);
    expect(int64ToNumber(response.remainingBanDuration!.seconds)).toBe(3599);
    expect(response.remainingBanDuration!.nanos).toBe(500_000_000);
  });

  it('KeyClaimResponse success: server_public_key is field 2; absent error decodes as NONE', () => {
    // Prepare
    const bytes = hex(`
      12 20                    // field 2, wire type 2; length 32
      ${toHex(counting(32, 0x41))}
      18 32                    // field 3, varint; tries_remaining 50
    `);

    // Act
    const response = KeyClaimResponse.decode(bytes);

    // Assess
    expect(Object.prototype.hasOwnProperty.call(response, 'error')).toBe(false);
    expect(response.error).toBe(KeyClaimResponse.ErrorCode.NONE);
    expect(Buffer.from(response.serverPublicKey)).toEqual(counting(32, 0x41));
    expect(response.triesRemaining).toBe(50);
    expect(response.remainingBanDuration).toBeNull();
  });

  it('KeyClaimResponse with an empty ban duration keeps the field present: 08 02 18 31 22 00', () => {
    // Prepare
    const response = {
      error: KeyClaimResponse.ErrorCode.INVALID_ONE_TIME_CODE,
      triesRemaining: 49,
      remainingBanDuration: {},
    };

    // Act
    const bytes = KeyClaimResponse.encode(response).finish();

    // Assess: field 1 = 2; field 3 = 49; field 4 with length 0
    expect(toHex(bytes)).toBe('08 02 18 31 22 00');
  });

  it('EncryptedUploadRequest: server_public_key 1, app_public_key 2, nonce 3, payload 4 (all bytes)', () => {
    // Prepare
    const bytes = hex(`
      0a 20 ${toHex(counting(32, 0x41))}   // field 1, wire type 2, length 32: server public key
      12 20 ${toHex(counting(32, 0x01))}   // field 2, wire type 2, length 32: app public key
      1a 18 ${toHex(counting(24, 0x81))}   // field 3, wire type 2, length 24: nonce
      22 03 aa bb cc                       // field 4, wire type 2, length 3: payload
    `);

    // Act
    const request = EncryptedUploadRequest.decode(bytes);

    // Assess
    expect(Buffer.from(request.serverPublicKey)).toEqual(counting(32, 0x41));
    expect(Buffer.from(request.appPublicKey)).toEqual(counting(32, 0x01));
    expect(Buffer.from(request.nonce)).toEqual(counting(24, 0x81));
    expect(toHex(request.payload)).toBe('aa bb cc');
  });

  it('TemporaryExposureKey: fields 1..6; days_since_onset -3 is sint32 zigzag 0x05; absent rolling_period is 144', () => {
    // Prepare
    const bytes = hex(`
      0a 10 ${toHex(counting(16, 0x10))}   // field 1 key_data, wire type 2, length 16
      10 04                                // field 2 transmission_risk_level, varint 4
      18 80 e3 a2 01                       // field 3 rolling_start_interval_number, varint 2 666 880
                                           // (field 4 rolling_period absent)
      28 02                                // field 5 report_type, varint; CONFIRMED_CLINICAL_DIAGNOSIS
      30 05                                // field 6 days_since_onset_of_symptoms, zigzag(-3) = 5
    `);

    // Act
    const key = TemporaryExposureKey.decode(bytes);

    // Assess
    expect(Buffer.from(key.keyData)).toEqual(counting(16, 0x10));
    expect(key.transmissionRiskLevel).toBe(4);
    expect(key.rollingStartIntervalNumber).toBe(2_666_880);
    expect(key.rollingPeriod).toBe(144);
    expect(Object.prototype.hasOwnProperty.call(key, 'rollingPeriod')).toBe(false);
    expect(key.reportType).toBe(TemporaryExposureKey.ReportType.CONFIRMED_CLINICAL_DIAGNOSIS);
    expect(key.daysSinceOnsetOfSymptoms).toBe(-3);
  });

  it('TemporaryExposureKey encodes days_since_onset with zigzag: -14 → 1b, 14 → 1c, -1 → 01', () => {
    // Prepare
    const onsets = [-14, 14, -1];

    // Act
    const encoded = onsets.map((d) => toHex(TemporaryExposureKey.encode({ daysSinceOnsetOfSymptoms: d }).finish()));

    // Assess: field 6, varint (tag 30)
    expect(encoded).toEqual(['30 1b', '30 1c', '30 01']);
  });

  it('TemporaryExposureKey: an explicit rolling_period is sent (20 90 01), an absent one is not sent', () => {
    // Prepare
    const withPeriod = { rollingStartIntervalNumber: 1, rollingPeriod: 144 };
    const withoutPeriod = { rollingStartIntervalNumber: 1 };

    // Act
    const a = TemporaryExposureKey.encode(withPeriod).finish();
    const b = TemporaryExposureKey.encode(withoutPeriod).finish();

    // Assess: field 3 = 1; field 4 varint 144 = 0x90 0x01
    expect(toHex(a)).toBe('18 01 20 90 01');
    expect(toHex(b)).toBe('18 01');
  });

  it('Upload: timestamp is field 1 (Timestamp 1 seconds, 2 nanos), keys repeated field 2', () => {
    // Prepare
    const bytes = hex(`
      0a 0b                    // field 1 timestamp, wire type 2, length 11
        08 80 a0 f8 fa 05      //   field 1 seconds, varint; 1 600 000 000
        10 80 ad e2 04         //   field 2 nanos, varint; 10 000 000
      12 04                    // field 2 keys[0], wire type 2, length 4
        18 01                  //   rolling_start_interval_number 1
        20 48                  //   rolling_period 72
      12 02                    // field 2 keys[1], wire type 2, length 2
        18 02                  //   rolling_start_interval_number 2
    `);

    // Act
    const upload = Upload.decode(bytes);

    // Assess
    expect(int64ToNumber(upload.timestamp!.seconds)).toBe(1_600_000_000);
    expect(upload.timestamp!.nanos).toBe(10_000_000);
    expect(upload.keys.map((k) => [k.rollingStartIntervalNumber, k.rollingPeriod])).toEqual([
      [1, 72],
      [2, 144],
    ]);
  });

  it('an Upload without timestamp or keys decodes (absence is left to validation: INVALID_TIMESTAMP, NO_KEYS_IN_PAYLOAD)', () => {
    // Prepare
    const bytes = Buffer.alloc(0);

    // Act
    const upload = Upload.decode(bytes);

    // Assess
    expect(upload.timestamp).toBeNull();
    expect(upload.keys).toEqual([]);
  });

  it('an empty Timestamp is present with seconds 0 (int64ToNumber maps absent to the default 0)', () => {
    // Prepare
    const bytes = hex(`
      0a 00   // field 1 timestamp, wire type 2, length 0
    `);

    // Act
    const upload = Upload.decode(bytes);

    // Assess
    expect(upload.timestamp).not.toBeNull();
    expect(int64ToNumber(upload.timestamp!.seconds)).toBe(0);
  });

  it('ErrorCode and ReportType enums carry exactly the reference values (9 unused in upload errors)', () => {
    // Prepare
    const claimErrors = {
      NONE: 0, UNKNOWN: 1, INVALID_ONE_TIME_CODE: 2, SERVER_ERROR: 3, INVALID_KEY: 4, TEMPORARY_BAN: 5,
    };
    const uploadErrors = {
      NONE: 0, UNKNOWN: 1, INVALID_KEYPAIR: 2, DECRYPTION_FAILED: 3, INVALID_PAYLOAD: 4, SERVER_ERROR: 5,
      INVALID_CRYPTO_PARAMETERS: 6, TOO_MANY_KEYS: 7, INVALID_TIMESTAMP: 8, INVALID_ROLLING_PERIOD: 10,
      INVALID_KEY_DATA: 11, INVALID_ROLLING_START_INTERVAL_NUMBER: 12, INVALID_TRANSMISSION_RISK_LEVEL: 13,
      NO_KEYS_IN_PAYLOAD: 14,
    };
    const reportTypes = {
      UNKNOWN: 0, CONFIRMED_TEST: 1, CONFIRMED_CLINICAL_DIAGNOSIS: 2, SELF_REPORT: 3, RECURSIVE: 4, REVOKED: 5,
    };

    // Act
    const names = (e: object): Record<string, unknown> =>
      Object.fromEntries(Object.entries(e).filter(([k]) => Number.isNaN(Number(k))));

    // Assess
    expect(names(KeyClaimResponse.ErrorCode)).toEqual(claimErrors);
    expect(names(EncryptedUploadResponse.ErrorCode)).toEqual(uploadErrors);
    expect(names(TemporaryExposureKey.ReportType)).toEqual(reportTypes);
  });

  it('an out-of-range report_type (6) is dropped by default but visible with readerKeepingUnknowns', () => {
    // Prepare
    const bytes = hex(`
      28 06   // field 5 report_type, varint 6: not a ReportType value (proto2 enums are closed)
    `);

    // Act
    const lenient = TemporaryExposureKey.decode(bytes);
    const strict = TemporaryExposureKey.decode(readerKeepingUnknowns(bytes));

    // Assess: both look absent; only the strict one shows field 5 arrived
    expect(Object.prototype.hasOwnProperty.call(lenient, 'reportType')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(strict, 'reportType')).toBe(false);
    expect(unknownFieldNumbers(lenient)).toEqual([]);
    expect(unknownFieldNumbers(strict)).toEqual([5]);
  });

  it('readerKeepingUnknowns reaches nested keys inside an Upload', () => {
    // Prepare
    const bytes = hex(`
      12 04       // field 2 keys[0], length 4
        28 07     //   report_type 7 (unknown value)
        18 01     //   rolling_start_interval_number 1
    `);

    // Act
    const upload = Upload.decode(readerKeepingUnknowns(bytes));

    // Assess
    expect(upload.keys[0].rollingStartIntervalNumber).toBe(1);
    expect(unknownFieldNumbers(upload.keys[0])).toEqual([5]);
  });

  describe('truncated or malformed bytes are rejected (upstream UP14)', () => {
    it.each([
      // 0x61 = field 12, wire type 1 (fixed64): 8 bytes skipped, then a second 0x61 with nothing after it
      ['the plaintext "aaaaaaaaaa"', Buffer.from('aaaaaaaaaa', 'ascii')],
      ['a Timestamp cut inside its length', hex('0a 06 08 80 a0')],
      ['a key whose length runs past the end', hex('12 10 0a 10 01 02')],
      ['a varint with no final byte', hex('0a 02 08 80')],
      ['field number 0', hex('02 00')],
      ['wire type 7', hex('0f')],
    ])('Upload.decode rejects %s', (_label, bytes) => {
      // Prepare: bytes given above

      // Act
      const decode = (): unknown => Upload.decode(bytes);

      // Assess
      expect(decode).toThrow();
    });

    it('KeyClaimRequest.decode rejects a code whose length runs past the end', () => {
      // Prepare
      const bytes = hex('0a 0a 41 45 46'); // field 1, length 10, only 3 bytes follow

      // Act
      const decode = (): unknown => KeyClaimRequest.decode(bytes);

      // Assess
      expect(decode).toThrow(RangeError);
    });

    it('EncryptedUploadRequest.decode rejects 100 bytes of "a" (upstream UP2)', () => {
      // Prepare
      const bytes = Buffer.alloc(100, 'a');

      // Act
      const decode = (): unknown => EncryptedUploadRequest.decode(bytes);

      // Assess
      expect(decode).toThrow();
    });
  });
});
