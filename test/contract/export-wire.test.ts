/**
 * Field numbers and wire types of proto/export.proto, proven with bytes written out by hand from
 * export-format-and-peers.md §A and upstream-server.md §6, independently of protobufjs's encoder.
 * Tag byte = (field number << 3) | wire type; wire types: 0 varint, 1 fixed64, 2 length-delimited.
 */
import { EXPORT_BIN_HEADER, SIGNATURE_ALGORITHM_OID, enexport, int64ToNumber } from '../../proto';
import { counting, hex, toHex } from './golden';

const { TemporaryExposureKeyExport, SignatureInfo, TemporaryExposureKey, TEKSignatureList } = enexport;

/** fixed64 as on the wire: 8 bytes little-endian, computed with Node's Buffer, not protobufjs. */
function le64(value: number): string {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(value));
  return toHex(bytes);
}

const ascii = (text: string): string => toHex(Buffer.from(text, 'ascii'));

// SignatureInfo { version "v1", id "302", algorithm OID }: 4 + 5 + 21 = 30 (0x1e) bytes.
const SIGNATURE_INFO_HEX = `
  1a 02 ${ascii('v1')}                      // field 3 verification_key_version, length 2
  22 03 ${ascii('302')}                     // field 4 verification_key_id, length 3
  2a 13 ${ascii(SIGNATURE_ALGORITHM_OID)}   // field 5 signature_algorithm, length 19
`;

describe('export.proto on the wire', () => {
  it('EXPORT_BIN_HEADER is "EK Export v1" + 4 spaces, 16 bytes', () => {
    // Prepare
    const expected = '45 4b 20 45 78 70 6f 72 74 20 76 31 20 20 20 20';

    // Act
    const header = toHex(EXPORT_BIN_HEADER);

    // Assess
    expect(header).toBe(expected);
    expect(EXPORT_BIN_HEADER.length).toBe(16);
    expect(SIGNATURE_ALGORITHM_OID).toBe('1.2.840.10045.4.3.2');
  });

  it('TemporaryExposureKeyExport: fixed64 timestamps 1/2, region 3, batch 4/5, signature_infos 6, keys 7', () => {
    // Prepare
    const start = 18_518 * 86_400;
    const end = start + 86_400;
    const bytes = hex(`
      09 ${le64(start)}        // field 1 start_timestamp, wire type 1: 8 bytes little-endian
      11 ${le64(end)}          // field 2 end_timestamp, wire type 1
      1a 02 ${ascii('CA')}     // field 3 region, wire type 2, length 2
      20 01                    // field 4 batch_num, varint 1
      28 01                    // field 5 batch_size, varint 1
      32 1e                    // field 6 signature_infos[0], wire type 2, length 30
        ${SIGNATURE_INFO_HEX}
      3a 20                    // field 7 keys[0], wire type 2, length 32
        0a 10 ${toHex(counting(16))}  // field 1 key_data, length 16
        10 02                  //   field 2 transmission_risk_level 2
        18 80 e3 a2 01         //   field 3 rolling_start_interval_number 2 666 880
        20 90 01               //   field 4 rolling_period 144
        28 01                  //   field 5 report_type CONFIRMED_TEST
        30 00                  //   field 6 days_since_onset_of_symptoms 0
    `);

    // Act
    const exported = TemporaryExposureKeyExport.decode(bytes);

    // Assess
    expect(int64ToNumber(exported.startTimestamp)).toBe(start);
    expect(int64ToNumber(exported.endTimestamp)).toBe(end);
    expect(exported.region).toBe('CA');
    expect([exported.batchNum, exported.batchSize]).toEqual([1, 1]);
    expect(exported.signatureInfos).toHaveLength(1);
    expect(exported.signatureInfos[0].verificationKeyVersion).toBe('v1');
    expect(exported.signatureInfos[0].verificationKeyId).toBe('302');
    expect(exported.signatureInfos[0].signatureAlgorithm).toBe(SIGNATURE_ALGORITHM_OID);
    const [key] = exported.keys;
    expect(Buffer.from(key.keyData!)).toEqual(counting(16));
    expect(key.transmissionRiskLevel).toBe(2);
    expect(key.rollingStartIntervalNumber).toBe(2_666_880);
    expect(key.rollingPeriod).toBe(144);
    expect(key.reportType).toBe(TemporaryExposureKey.ReportType.CONFIRMED_TEST);
    expect(key.daysSinceOnsetOfSymptoms).toBe(0);
  });

  it('start/end timestamps are encoded as fixed64 (tags 09 and 11, 8 little-endian bytes), beyond 32 bits too', () => {
    // Prepare
    const start = 1_600_041_600; // 0x5f5eb280
    const end = 2 ** 32 + 5;

    // Act
    const bytes = TemporaryExposureKeyExport.encode({ startTimestamp: start, endTimestamp: end }).finish();

    // Assess
    expect(toHex(bytes)).toBe('09 80 b2 5e 5f 00 00 00 00 11 05 00 00 00 01 00 00 00');
    expect(int64ToNumber(TemporaryExposureKeyExport.decode(bytes).endTimestamp)).toBe(end);
  });

  it('revised_keys is field 8', () => {
    // Prepare
    const bytes = hex(`
      42 02      // field 8 revised_keys[0], wire type 2, length 2
        28 05    //   report_type REVOKED
    `);

    // Act
    const exported = TemporaryExposureKeyExport.decode(bytes);

    // Assess
    expect(exported.keys).toEqual([]);
    expect(exported.revisedKeys).toHaveLength(1);
    expect(exported.revisedKeys[0].reportType).toBe(TemporaryExposureKey.ReportType.REVOKED);
  });

  it('SignatureInfo encodes "v1", "302" and the OID as fields 3, 4, 5 and nothing else', () => {
    // Prepare
    const info = { verificationKeyVersion: 'v1', verificationKeyId: '302', signatureAlgorithm: SIGNATURE_ALGORITHM_OID };

    // Act
    const bytes = SignatureInfo.encode(info).finish();

    // Assess
    expect(toHex(bytes)).toBe(toHex(hex(SIGNATURE_INFO_HEX)));
  });

  it('SignatureInfo ignores the reserved fields 1 and 2 (app_bundle_id, android_package) on decode', () => {
    // Prepare
    const bytes = hex(`
      0a 03 ${ascii('abc')}    // field 1 (reserved, formerly app_bundle_id)
      12 03 ${ascii('xyz')}    // field 2 (reserved, formerly android_package)
      ${SIGNATURE_INFO_HEX}
    `);

    // Act
    const info = SignatureInfo.toObject(SignatureInfo.decode(bytes));

    // Assess
    expect(info).toEqual({ verificationKeyVersion: 'v1', verificationKeyId: '302', signatureAlgorithm: SIGNATURE_ALGORITHM_OID });
  });

  it('TEKSignatureList: signatures 1; TEKSignature: signature_info 1, batch_num 2, batch_size 3, signature 4', () => {
    // Prepare
    const signature = counting(70, 0x30);
    const bytes = hex(`
      0a 6c                    // field 1 signatures[0], wire type 2, length 108
        0a 1e                  //   field 1 signature_info, length 30
          ${SIGNATURE_INFO_HEX}
        10 01                  //   field 2 batch_num 1
        18 01                  //   field 3 batch_size 1
        22 46 ${toHex(signature)}  // field 4 signature, length 70
    `);

    // Act
    const list = TEKSignatureList.decode(bytes);

    // Assess
    expect(list.signatures).toHaveLength(1);
    const [sig] = list.signatures;
    expect(sig.signatureInfo!.verificationKeyId).toBe('302');
    expect(sig.signatureInfo!.verificationKeyVersion).toBe('v1');
    expect(sig.signatureInfo!.signatureAlgorithm).toBe(SIGNATURE_ALGORITHM_OID);
    expect([sig.batchNum, sig.batchSize]).toEqual([1, 1]);
    expect(Buffer.from(sig.signature!)).toEqual(signature);
  });

  it('export TemporaryExposureKey: absent rolling_period is 144; days_since_onset is sint32 (zigzag)', () => {
    // Prepare
    const bytes = hex(`
      18 01      // field 3 rolling_start_interval_number 1
      30 1b      // field 6 days_since_onset_of_symptoms, zigzag 27 = -14
    `);

    // Act
    const key = TemporaryExposureKey.decode(bytes);

    // Assess
    expect(key.rollingPeriod).toBe(144);
    expect(key.daysSinceOnsetOfSymptoms).toBe(-14);
  });

  it('export ReportType carries exactly the published values', () => {
    // Prepare
    const expected = {
      UNKNOWN: 0, CONFIRMED_TEST: 1, CONFIRMED_CLINICAL_DIAGNOSIS: 2, SELF_REPORT: 3, RECURSIVE: 4, REVOKED: 5,
    };

    // Act
    const names = Object.fromEntries(
      Object.entries(TemporaryExposureKey.ReportType).filter(([k]) => Number.isNaN(Number(k))),
    );

    // Assess
    expect(names).toEqual(expected);
  });

  describe('truncated bytes are rejected', () => {
    it.each([
      ['a fixed64 start_timestamp cut to 3 bytes', hex('09 00 de 5c')],
      ['a fixed64 end_timestamp cut to 7 bytes', hex(`09 ${le64(1)} 11 01 02 03 04 05 06 07`)],
      ['a key whose length runs past the end', hex('3a 20 0a 10 01 02 03')],
      ['a region string cut short', hex('1a 02 43')],
    ])('TemporaryExposureKeyExport.decode rejects %s', (_label, bytes) => {
      // Prepare: bytes given above

      // Act
      const decode = (): unknown => TemporaryExposureKeyExport.decode(bytes);

      // Assess
      expect(decode).toThrow(RangeError);
    });

    it('TEKSignatureList.decode rejects a signature cut short', () => {
      // Prepare
      const bytes = hex('0a 04 22 46 30 44'); // signatures[0] length 4: signature claims 70 bytes, 2 follow

      // Act
      const decode = (): unknown => TEKSignatureList.decode(bytes);

      // Assess
      expect(decode).toThrow(RangeError);
    });
  });
});
