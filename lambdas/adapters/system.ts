import { randomBytes } from 'node:crypto';
import type { Clock, Random } from '../ports';

/** The real clock, used in AWS. The local runtime injects an offset clock instead. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** Node's CSPRNG. */
export const systemRandom: Random = { bytes: (length) => new Uint8Array(randomBytes(length)) };
