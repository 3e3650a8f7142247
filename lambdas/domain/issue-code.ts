/**
 * /new-key-claim (reference §3, deviations 5 and 6): authenticate the bearer token, create a
 * server key pair and a one-time code, optionally bound to a hashId that regenerates an unclaimed
 * code and forbids a claimed one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import nacl from 'tweetnacl';
import type { Clock, CodeStore, Events, Hasher, NewCode, Random } from '../ports';
import { generateCode } from './codes';
import type { SubmissionSettings } from './settings';
import { seconds } from './time';

export interface IssueCodeDeps {
  readonly codes: CodeStore;
  readonly clock: Clock;
  readonly random: Random;
  readonly hasher: Hasher;
  readonly events: Events;
  readonly settings: SubmissionSettings;
}

export type IssueCodeResult =
  | { readonly kind: 'issued'; readonly code: string; readonly regenerated: boolean }
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'forbidden' }
  | { readonly kind: 'exhausted' };

/** Upstream makes up to 5 attempts (code collisions and hashId regeneration share them). */
export const MAX_ATTEMPTS = 5;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Parses `Authorization: Bearer <token>` exactly as upstream (split once on a single space) and
 * finds the token in constant time per configured token.
 */
export function authenticate(authorization: string | undefined, settings: SubmissionSettings) {
  if (authorization === undefined) return undefined;
  const space = authorization.indexOf(' ');
  if (space < 0 || authorization.slice(0, space) !== 'Bearer') return undefined;
  const presented = digest(authorization.slice(space + 1));
  let match: { token: string; region: string } | undefined;
  for (const candidate of settings.keyClaimTokens) {
    if (timingSafeEqual(presented, digest(candidate.token))) match = candidate;
  }
  return match;
}

/** Opaque originator id: a truncated SHA-256 of the token, so no secret is stored (deviation 6). */
export const originatorId = (token: string): string => `o-${digest(token).toString('hex').slice(0, 16)}`;

export async function issueCode(
  deps: IssueCodeDeps,
  request: { readonly authorization?: string; readonly hashId?: string },
): Promise<IssueCodeResult> {
  const { codes, clock, random, hasher, events, settings } = deps;
  const issuer = authenticate(request.authorization, settings);
  if (!issuer) return { kind: 'unauthorized' };

  const keyPair = nacl.box.keyPair.fromSecretKey(random.bytes(nacl.box.secretKeyLength));
  const hashIdHash = request.hashId === undefined ? undefined : hasher.digest('hash-id', request.hashId);
  let replacing: NewCode['replacing'];
  let regenerated = false;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const nowMs = clock.nowMs();
    const code = generateCode(random);
    const outcome = await codes.insertCode(
      {
        codeHash: hasher.digest('code', code),
        hashIdHash,
        replacing,
        keyPair: {
          serverPublicKey: keyPair.publicKey,
          serverPrivateKey: keyPair.secretKey,
          remainingKeys: settings.initialRemainingKeys,
          originator: originatorId(issuer.token),
          source: issuer.region,
          createdAtMs: nowMs,
          expiresAt: seconds(nowMs) + settings.codeLifetimeSeconds,
        },
      },
      nowMs,
    );
    switch (outcome.kind) {
      case 'inserted':
        events.record(regenerated ? 'OTKRegenerated' : 'OTKGenerated', 1, issuer.region);
        return { kind: 'issued', code, regenerated };
      case 'hash-id-claimed':
        return { kind: 'forbidden' };
      case 'hash-id-unclaimed':
        replacing = outcome.current;
        regenerated = true;
        break;
      case 'retry':
        break;
    }
  }
  return { kind: 'exhausted' };
}
