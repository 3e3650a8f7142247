/**
 * The export file (reference/export-format-and-peers.md §A, upstream-server.md §6): a zip with
 * exactly two entries, in this order,
 *   export.bin = `EK Export v1` + 4 spaces, then a TemporaryExposureKeyExport;
 *   export.sig = a TEKSignatureList, one TEKSignature per signer over the whole export.bin
 *                (DER ECDSA P-256 / SHA-256).
 * `encodeExport` and `decodeExport` are a symmetric pair; the round trip is the contract test.
 *
 * Determinism: export.bin depends only on the input (keys in the given order, signers' ids and
 * versions), and the zip entries carry a fixed modification time, so the same keys at the same
 * time give the same export.bin and the same zip layout. ECDSA signatures are randomized, so
 * export.sig (and hence the zip bytes) differ from run to run.
 *
 * Compression: export.bin is deflated, export.sig stored. Keys are random, but each key's
 * framing, RSIN, period, report type and onset are not: deflate shrinks export.bin to ~56 % (a
 * 750 000-key bundle: 25.5 MB stored, 14.4 MB deflated — under Apple's 16 MB archive limit, which
 * store would exceed), and every phone downloads every bundle, so the bytes saved on the CDN
 * outweigh the seconds spent once per run. export.sig is ~110 random bytes: nothing to gain.
 * Upstream (Go archive/zip) deflated both; readers accept either method.
 */
import { unzipSync, zipSync } from 'fflate';
import { Writer } from 'protobufjs/minimal';
import { EXPORT_BIN_HEADER, SIGNATURE_ALGORITHM_OID, enexport } from '../../proto';
import type { Signer, StoredKey } from '../ports';
import { compareKeyData } from './bundles';

export const EXPORT_BIN_ENTRY = 'export.bin';
export const EXPORT_SIG_ENTRY = 'export.sig';
/** batch_num = batch_size = 1: one file per window (Apple accepts nothing else). */
export const BATCH_NUM = 1;
export const BATCH_SIZE = 1;
/** At most 10 SignatureInfos per export (Google's limit). */
export const MAX_SIGNERS = 10;
/** Deflate level of export.bin (level 9 measured no smaller on key data). */
export const EXPORT_BIN_DEFLATE_LEVEL = 6;
/**
 * Modification time written into both zip entries: 1980-01-01 00:00, the DOS epoch. Built from
 * local-time fields because the zip writer converts with local-time getters, so the stored DOS
 * date/time is the same in every time zone.
 */
export const zipEntryTime = (): Date => new Date(1980, 0, 1, 0, 0, 0);

const { ReportType } = enexport.TemporaryExposureKey;

/** What one export file says, before signing. */
export interface ExportContent {
  /** start_timestamp / end_timestamp, epoch seconds (the submission window). */
  readonly startTimestamp: number;
  readonly endTimestamp: number;
  /** The export's `region` string (EXPORT_REGION, e.g. CA). */
  readonly region: string;
  /** The selected keys, ascending by key data (see bundles.selectKeys); checked, not re-sorted. */
  readonly keys: readonly StoredKey[];
}

export interface EncodedExport {
  /** The zip as served. */
  readonly zip: Uint8Array;
  /** Its export.bin: deterministic for the same content and signers. */
  readonly exportBin: Uint8Array;
}

export interface DecodedExport {
  readonly exportBin: Uint8Array;
  readonly export: enexport.TemporaryExposureKeyExport;
  readonly signatureList: enexport.TEKSignatureList;
  /** Zip entry names in archive order. */
  readonly entryNames: readonly string[];
}

/** The export cannot be written as asked (programming error, not data). */
export class ExportEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportEncodingError';
  }
}

/** The bytes are not an export file. */
export class ExportFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExportFormatError';
  }
}

/** A signer failed (KMS unreachable, key disabled …); the run must fail. */
export class SigningError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SigningError';
  }
}

export function signatureInfoOf(signer: Pick<Signer, 'keyId' | 'keyVersion'>): enexport.SignatureInfo.$Properties {
  return {
    verificationKeyVersion: signer.keyVersion,
    verificationKeyId: signer.keyId,
    signatureAlgorithm: SIGNATURE_ALGORITHM_OID,
  };
}

/** A stored key as exported: all six fields; absent report type → CONFIRMED_TEST, onset → 0. */
export function exportedKey(key: StoredKey): enexport.TemporaryExposureKey.$Properties {
  return {
    keyData: key.keyData,
    transmissionRiskLevel: key.transmissionRiskLevel,
    rollingStartIntervalNumber: key.rollingStartIntervalNumber,
    rollingPeriod: key.rollingPeriod,
    // UNKNOWN (0) counts as absent (deviation 4).
    reportType: key.reportType || ReportType.CONFIRMED_TEST,
    daysSinceOnsetOfSymptoms: key.daysSinceOnsetOfSymptoms ?? 0,
  };
}

function checkSigners(signers: readonly Pick<Signer, 'keyId' | 'keyVersion'>[]): void {
  if (signers.length < 1 || signers.length > MAX_SIGNERS) {
    throw new ExportEncodingError(`an export needs 1–${MAX_SIGNERS} signers, got ${signers.length}`);
  }
}

function checkOrder(keys: readonly StoredKey[]): void {
  for (let i = 1; i < keys.length; i += 1) {
    if (compareKeyData(keys[i - 1], keys[i]) > 0) throw new ExportEncodingError('keys must be ascending by key data');
  }
}

/**
 * export.bin: header + TemporaryExposureKeyExport, one SignatureInfo per signer in the given
 * order (newest first). Written into one buffer (the header first, then protobufjs's static
 * encoder): a 750 000-key export is ~25.5 MB and encodes in about a second.
 */
export function encodeExportBin(content: ExportContent, signers: readonly Pick<Signer, 'keyId' | 'keyVersion'>[]): Uint8Array {
  checkSigners(signers);
  checkOrder(content.keys);
  const message: enexport.TemporaryExposureKeyExport.$Properties = {
    startTimestamp: content.startTimestamp,
    endTimestamp: content.endTimestamp,
    region: content.region,
    batchNum: BATCH_NUM,
    batchSize: BATCH_SIZE,
    signatureInfos: signers.map(signatureInfoOf),
    keys: content.keys.map(exportedKey),
  };
  return enexport.TemporaryExposureKeyExport.encode(message, Writer.create().raw(EXPORT_BIN_HEADER)).finish();
}

/** export.sig for an export.bin: one TEKSignature per signer, in the signers' order. */
export async function signExportBin(exportBin: Uint8Array, signers: readonly Signer[]): Promise<Uint8Array> {
  checkSigners(signers);
  const signatures = await Promise.all(
    signers.map(async (signer) => {
      let signature: Uint8Array;
      try {
        signature = await signer.sign(exportBin);
      } catch (error) {
        if (error instanceof SigningError) throw error;
        throw new SigningError(`signing with ${signer.keyId}/${signer.keyVersion} failed`, { cause: error });
      }
      return { signatureInfo: signatureInfoOf(signer), batchNum: BATCH_NUM, batchSize: BATCH_SIZE, signature };
    }),
  );
  return enexport.TEKSignatureList.encode({ signatures }).finish();
}

/** The zip of an export.bin and its export.sig, entries in that order. */
export function zipExport(exportBin: Uint8Array, exportSig: Uint8Array): Uint8Array {
  const mtime = zipEntryTime();
  return zipSync({
    [EXPORT_BIN_ENTRY]: [exportBin, { level: EXPORT_BIN_DEFLATE_LEVEL, mtime }],
    [EXPORT_SIG_ENTRY]: [exportSig, { level: 0, mtime }],
  });
}

/** The served export file: export.bin, signed by every signer (newest first), zipped. */
export async function encodeExport(content: ExportContent, signers: readonly Signer[]): Promise<EncodedExport> {
  const exportBin = encodeExportBin(content, signers);
  const exportSig = await signExportBin(exportBin, signers);
  return { zip: zipExport(exportBin, exportSig), exportBin };
}

/** The inverse of encodeExport (signatures are decoded, not verified). */
export function decodeExport(zip: Uint8Array): DecodedExport {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip);
  } catch (error) {
    throw new ExportFormatError('not a zip archive', { cause: error });
  }
  const exportBin = entries[EXPORT_BIN_ENTRY];
  const exportSig = entries[EXPORT_SIG_ENTRY];
  if (!exportBin || !exportSig) throw new ExportFormatError(`missing ${EXPORT_BIN_ENTRY} or ${EXPORT_SIG_ENTRY}`);
  if (exportBin.length < EXPORT_BIN_HEADER.length || !Buffer.from(exportBin.subarray(0, EXPORT_BIN_HEADER.length)).equals(EXPORT_BIN_HEADER)) {
    throw new ExportFormatError(`${EXPORT_BIN_ENTRY} does not start with the export header`);
  }
  try {
    return {
      exportBin,
      export: enexport.TemporaryExposureKeyExport.decode(exportBin.subarray(EXPORT_BIN_HEADER.length)),
      signatureList: enexport.TEKSignatureList.decode(exportSig),
      entryNames: Object.keys(entries),
    };
  } catch (error) {
    throw new ExportFormatError('export protobuf does not decode', { cause: error });
  }
}
