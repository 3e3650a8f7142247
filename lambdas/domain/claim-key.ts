/**
 * /claim-key (reference §4, deviations 7 and 8): exchange a one-time code for the server public
 * key, binding the app's public key; ban a client after 50 consecutive invalid codes for 1 h.
 *
 * Order (upstream): ban check → body (malformed → UNKNOWN) → code normalisation → app key length
 * → app key already used → code lookup and claim → failure recording.
 */
import type { BanRecord, BanStore, Clock, CodeStore, Events, Hasher } from '../ports';
import { isWellFormedCode, normaliseCode } from './codes';
import { StorageError, type SubmissionSettings } from './settings';
import { SECONDS_PER_DAY, utcMidnightSeconds } from './time';

export interface ClaimKeyDeps {
  readonly codes: CodeStore;
  readonly bans: BanStore;
  readonly clock: Clock;
  readonly hasher: Hasher;
  readonly events: Events;
  readonly settings: SubmissionSettings;
}

export type ClaimRequest =
  | { readonly kind: 'malformed' }
  | { readonly kind: 'claim'; readonly oneTimeCode: string; readonly appPublicKey: Uint8Array };

/** Error names equal the KeyClaimResponse.ErrorCode enum names. */
export type ClaimResult =
  | { readonly kind: 'claimed'; readonly serverPublicKey: Uint8Array; readonly triesRemaining: number }
  | { readonly kind: 'TEMPORARY_BAN'; readonly triesRemaining: 0; readonly banRemainingMs: number }
  | { readonly kind: 'UNKNOWN'; readonly triesRemaining: number }
  | { readonly kind: 'INVALID_KEY'; readonly triesRemaining: number; readonly alreadyUsed: boolean }
  | { readonly kind: 'INVALID_ONE_TIME_CODE'; readonly triesRemaining: number; readonly banRemainingMs: number }
  | { readonly kind: 'SERVER_ERROR'; readonly triesRemaining?: number };

export const APP_PUBLIC_KEY_LENGTH = 32;

/** tries remaining and remaining ban of a live record (upstream §4 step 1). */
export function banState(record: BanRecord | undefined, nowMs: number, settings: SubmissionSettings) {
  const failures = record?.failures ?? 0;
  const triesRemaining = Math.max(0, settings.maxClaimFailures - failures);
  const banRemainingMs =
    record && triesRemaining === 0 ? Math.max(0, record.lastFailureMs + settings.banSeconds * 1000 - nowMs) : 0;
  return { triesRemaining, banRemainingMs };
}

export async function claimKey(deps: ClaimKeyDeps, sourceIp: string, request: ClaimRequest): Promise<ClaimResult> {
  const { codes, bans, clock, hasher, events, settings } = deps;
  const ipHash = hasher.digest('ip', sourceIp);
  const nowMs = clock.nowMs();

  let tries: number;
  try {
    const state = banState(await bans.get(ipHash, nowMs), nowMs, settings);
    tries = state.triesRemaining;
    if (state.triesRemaining === 0 && state.banRemainingMs > 0) {
      events.record('ClaimBanned', 1, 'claim');
      return { kind: 'TEMPORARY_BAN', triesRemaining: 0, banRemainingMs: state.banRemainingMs };
    }
    if (state.triesRemaining === 0) tries = settings.maxClaimFailures;
  } catch (error) {
    if (error instanceof StorageError) return { kind: 'SERVER_ERROR', triesRemaining: settings.maxClaimFailures };
    throw error;
  }

  if (request.kind === 'malformed') return { kind: 'UNKNOWN', triesRemaining: tries };
  const code = normaliseCode(request.oneTimeCode);
  if (request.appPublicKey.length !== APP_PUBLIC_KEY_LENGTH) {
    return { kind: 'INVALID_KEY', triesRemaining: tries, alreadyUsed: false };
  }

  try {
    if (await codes.isAppKeyInUse(request.appPublicKey, nowMs)) {
      return { kind: 'INVALID_KEY', triesRemaining: tries, alreadyUsed: true };
    }
    const codeHash = hasher.digest('code', code);
    const pending = isWellFormedCode(code) ? await codes.findCode(codeHash, nowMs) : undefined;
    if (pending) {
      const outcome = await codes.claim(
        {
          codeHash,
          code: pending,
          appPublicKey: request.appPublicKey,
          // Valid until the UTC midnight of the issue day + 15 days (upstream resets `created`).
          keyPairExpiresAt: utcMidnightSeconds(pending.createdAtMs) + settings.keyPairValidityDays * SECONDS_PER_DAY,
        },
        nowMs,
      );
      if (outcome.kind === 'claimed') {
        events.record('OTKClaimed', 1, outcome.source);
        // A success resets the counter; the claim already happened, so a failure here must not
        // turn it into an error (the record expires within the hour anyway).
        await bans.clear(ipHash).catch(() => undefined);
        return { kind: 'claimed', serverPublicKey: outcome.serverPublicKey, triesRemaining: settings.maxClaimFailures };
      }
      if (outcome.kind === 'app-key-in-use') return { kind: 'INVALID_KEY', triesRemaining: tries, alreadyUsed: true };
    }
    // Unknown, expired, malformed or concurrently claimed code: one more failure for this client.
    const record = await bans.recordFailure(ipHash, clock.nowMs());
    const state = banState(record, clock.nowMs(), settings);
    events.record('ClaimFailed', 1, 'claim');
    return { kind: 'INVALID_ONE_TIME_CODE', triesRemaining: state.triesRemaining, banRemainingMs: state.banRemainingMs };
  } catch (error) {
    if (error instanceof StorageError) return { kind: 'SERVER_ERROR', triesRemaining: tries };
    throw error;
  }
}
