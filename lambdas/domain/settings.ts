import type { KeyClaimToken } from '../shared/config';

/** The rules of key submission that are configuration (upstream config.yaml), with defaults. */
export interface SubmissionSettings {
  /** MCC stored with keys and served (upstream `regionCode`). */
  readonly regionCode: string;
  readonly keyClaimTokens: readonly KeyClaimToken[];
  /** Quota of keys per key pair (upstream shipped 43). */
  readonly initialRemainingKeys: number;
  /** Unclaimed code lifetime (upstream oneTimeCodeExpiryInMinutes = 1440). */
  readonly codeLifetimeSeconds: number;
  /** Key pair lifetime from the UTC midnight of the code's issue day (upstream 15 days). */
  readonly keyPairValidityDays: number;
  /** Consecutive invalid codes before a ban (upstream 50). */
  readonly maxClaimFailures: number;
  /** Ban duration after the last failure (upstream 1 h). */
  readonly banSeconds: number;
  /** Diagnosis key retention after the submission hour (15 days; served for 14). */
  readonly keyRetentionDays: number;
}

export const DEFAULT_SUBMISSION_SETTINGS: Omit<SubmissionSettings, 'keyClaimTokens'> = {
  regionCode: '302',
  initialRemainingKeys: 43,
  codeLifetimeSeconds: 1440 * 60,
  keyPairValidityDays: 15,
  maxClaimFailures: 50,
  banSeconds: 3600,
  keyRetentionDays: 15,
};

/** Thrown by adapters when storage fails for real (the only cause of a 5xx). */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}
