/** Time units of the Exposure Notification protocol and of the upstream server. */
export const SECONDS_PER_HOUR = 3600;
export const SECONDS_PER_DAY = 86400;
/** An ENIN is a 10-minute interval: floor(unix seconds / 600). */
export const SECONDS_PER_INTERVAL = 600;
/** A day is 144 intervals; also the maximum (and default) rolling period. */
export const INTERVALS_PER_DAY = 144;

export const seconds = (nowMs: number): number => Math.floor(nowMs / 1000);
/** UTC date number: floor(unix seconds / 86400). */
export const dayNumber = (nowMs: number): number => Math.floor(nowMs / 1000 / SECONDS_PER_DAY);
/** Hour number: floor(unix seconds / 3600) (truncation, as upstream). */
export const hourNumber = (nowMs: number): number => Math.floor(nowMs / 1000 / SECONDS_PER_HOUR);
/** Epoch seconds of the UTC midnight of the day containing nowMs. */
export const utcMidnightSeconds = (nowMs: number): number => dayNumber(nowMs) * SECONDS_PER_DAY;
