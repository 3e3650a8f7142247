/**
 * Stage configuration of the CDK app, read from `cdk.json` context and validated once, before
 * any construct is built. Stages differ by this config only (STYLE rule 12): no construct reads
 * context or branches on a stage name.
 *
 * cdk.json:
 *   "stage": "dev",                         <- selected stage; override with `-c stage=prod`
 *   "stages": { "dev": { ...StageConfig }, "prod": { ... } }
 *
 * Every problem is collected and reported in one `StageConfigError`, so a broken config is
 * fixed in one pass rather than one field per synth.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Node } from 'constructs';

/** Retention values CloudWatch Logs accepts that keep logs ≤ 14 days (privacy, ARCHITECTURE §1). */
export const ALLOWED_LOG_RETENTION_DAYS = [1, 3, 5, 7, 14] as const;
export type LogRetentionDays = (typeof ALLOWED_LOG_RETENTION_DAYS)[number];

/**
 * Diagnosis keys and server key pairs live 15 days; nothing personal may be restorable for more
 * than 21 days, so a point-in-time-recovery window can be at most 21 − 15 = 6 days.
 */
export const LONGEST_ITEM_LIFETIME_DAYS = 15;
export const MAX_PERSONAL_RETENTION_DAYS = 21;
export const MAX_POINT_IN_TIME_RECOVERY_DAYS = MAX_PERSONAL_RETENTION_DAYS - LONGEST_ITEM_LIFETIME_DAYS;

/** CloudFront price classes (edge locations used); Canada is in every class. */
export const CDN_PRICE_CLASSES = ['PriceClass_100', 'PriceClass_200', 'PriceClass_All'] as const;
export type CdnPriceClass = (typeof CDN_PRICE_CLASSES)[number];

/**
 * build-exports runs at most 5 minutes (its timeout) and never twice at once (reserved
 * concurrency 1), so a shorter period would only queue runs; today's bundle is cached
 * `max-age=600`, so a period much above 10 minutes leaves the CDN serving stale bundles longer.
 */
export const EXPORT_SCHEDULE_MINUTES = { min: 5, max: 60, default: 10 } as const;

/**
 * metrics-report runs once a day at this UTC time (`HH:MM`). Reports cover complete days up to
 * yesterday (UTC), so any time after midnight works; 03:00 leaves phones in every Canadian time
 * zone a few hours to push the events of the day before.
 */
export const DEFAULT_METRICS_REPORT_TIME_UTC = '03:00';
const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Upper bound of a usage-plan quota (requests per day); far above any plausible traffic. */
export const MAX_METRICS_QUOTA_PER_DAY = 1_000_000_000;

/**
 * Per-IP request limits of the WAF rate-based rules, in requests per 5 minutes (WAF's window).
 * Upstream allowed 100 /claim-key requests per 5 minutes per IP; it had no /upload limit. Phones
 * behind carrier-grade NAT share an address, so a limit is per crowd, not per phone: /upload is
 * looser because every accepted upload needs a claimed key pair anyway.
 */
export const DEFAULT_WAF_RATE_LIMITS = { claimKeyPer5Minutes: 100, uploadPer5Minutes: 1000 } as const;
/** WAF accepts rate limits from 10 to 2 000 000 000. */
export const WAF_RATE_LIMIT_RANGE = { min: 10, max: 2_000_000_000 } as const;

/** Default API 5xx alarm threshold: 5xx answers of the stage within 5 minutes. */
export const DEFAULT_API_5XX_ALARM_THRESHOLD = 5;

/** Characters Apple and Google both accept in a verification key id / version. */
const KEY_LABEL = /^[A-Za-z0-9_.]{1,32}$/;

export interface ApiThrottleConfig {
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  /** Burst bucket size for the whole stage. */
  readonly burstLimit: number;
}

/**
 * Usage plan of the /save-metrics API key. Every phone sends the same key (it ships inside the
 * app), so these limits are global to /save-metrics, not per client: the throttle caps that
 * route below the stage-wide throttle, and the daily quota caps the cost of a leaked key. A
 * request beyond either gets 429 from API Gateway; the apps keep their events and send them
 * again at the next trigger (reference/metrics-upstream.md §1.5), so a 429 delays, not loses.
 */
export interface MetricsUsagePlanConfig {
  /** Steady-state requests per second of /save-metrics; at most `apiThrottle.rateLimit`. */
  readonly rateLimit: number;
  /** Burst bucket of /save-metrics; at most `apiThrottle.burstLimit`. */
  readonly burstLimit: number;
  /** Requests per UTC day accepted on the key. */
  readonly quotaPerDay: number;
}

/** Per-IP WAF rate limits (requests per 5 minutes per client address). */
export interface WafRateLimitsConfig {
  /** `/claim-key` (upstream: 100). */
  readonly claimKeyPer5Minutes: number;
  /** `/upload`. */
  readonly uploadPer5Minutes: number;
}

export interface StageConfig {
  /** Lower-case name, equal to its key in `stages`; used in the stack name and tags. */
  readonly stageName: string;
  /** Mobile country code served (`REGION_CODE`, upstream default 302). */
  readonly regionCode: string;
  /** Export bundles' `region` field (`EXPORT_REGION`, default CA). */
  readonly exportRegion: string;
  /** Retention of every log group of the stage; one of 1, 3, 5, 7, 14. */
  readonly logRetentionDays: LogRetentionDays;
  /** Point-in-time-recovery window of the tables that enable PITR; 1–6 days (see above). */
  readonly pointInTimeRecoveryDays: number;
  /** E-mail subscribed to the alarm topic (lib/constructs/observability.ts); none when absent. */
  readonly alarmEmail?: string;
  /**
   * CIDRs (IPv4 or IPv6, prefix ≥ 1) allowed to call /new-key-claim; enforced by the WAF
   * (lib/constructs/waf.ts). EMPTY means nobody: /new-key-claim is blocked outright.
   */
  readonly newKeyClaimAllowList: readonly string[];
  /** Per-IP WAF rate limits of /claim-key and /upload; default DEFAULT_WAF_RATE_LIMITS. */
  readonly wafRateLimits: WafRateLimitsConfig;
  /** API 5xx alarm: 5xx answers of the stage in 5 minutes that raise it; default 5. */
  readonly api5xxAlarmThreshold: number;
  /** Remaining-key quota of a fresh server key pair (upstream shipped 43). */
  readonly initialRemainingKeys: number;
  /** API Gateway stage-wide throttling. */
  readonly apiThrottle: ApiThrottleConfig;
  /** Minutes between build-exports runs (EventBridge `rate(N minutes)`); default 10. */
  readonly exportScheduleMinutes: number;
  /**
   * `SignatureInfo.verification_key_version` of the stack's KMS signing key (the key id is
   * `regionCode`); the pair Apple and Google know the public key by. Default `v1`.
   */
  readonly signingKeyVersion: string;
  /** Usage plan (throttle and daily quota) of the /save-metrics API key. */
  readonly metricsUsagePlan: MetricsUsagePlanConfig;
  /** UTC time of day (`HH:MM`) of the nightly metrics-report run; default 03:00. */
  readonly metricsReportTimeUtc: string;
  /** CloudFront price class of the retrieval distribution; default PriceClass_100. */
  readonly cdnPriceClass: CdnPriceClass;
  /**
   * Id of this stage's retrieval distribution (e.g. `E2QWRUHAPOMQZL`), known only after the
   * first deploy. Absent, the data key lets CloudFront decrypt for any distribution of this
   * account (a distribution-specific key policy would be a dependency cycle: key → distribution
   * → bucket → key); set, only for this one. See lib/constructs/cdn.ts.
   */
  readonly cdnDistributionId?: string;
  /** Optional deployment target; without it the stack is environment-agnostic (synth offline). */
  readonly account?: string;
  readonly region?: string;
}

export class StageConfigError extends Error {
  constructor(
    readonly stage: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid stage config "${stage}" (cdk.json context):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'StageConfigError';
  }
}

const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'stageName',
  'regionCode',
  'exportRegion',
  'logRetentionDays',
  'pointInTimeRecoveryDays',
  'alarmEmail',
  'newKeyClaimAllowList',
  'wafRateLimits',
  'api5xxAlarmThreshold',
  'initialRemainingKeys',
  'apiThrottle',
  'exportScheduleMinutes',
  'signingKeyVersion',
  'metricsUsagePlan',
  'metricsReportTimeUtc',
  'cdnPriceClass',
  'cdnDistributionId',
  'account',
  'region',
]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isInteger = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** True for `a.b.c.d/n` (n 0–32) and `x:y::z/n` (n 0–128) with the host part written canonically. */
export function isCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const address = value.slice(0, slash);
  const prefix = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  if (isIPv4(address)) return bits <= 32;
  if (isIPv6(address)) return bits <= 128;
  return false;
}

/**
 * Validates one stage's raw context value. Pure; returns the typed config or throws one
 * `StageConfigError` listing every problem.
 */
export function parseStageConfig(stage: string, raw: unknown): StageConfig {
  const problems: string[] = [];
  if (!isRecord(raw)) {
    throw new StageConfigError(stage, [`stages.${stage} must be an object`]);
  }
  const at = (field: string) => `stages.${stage}.${field}`;

  for (const key of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(key)) problems.push(`${at(key)}: unknown field`);
  }

  const { stageName, regionCode, exportRegion, logRetentionDays, pointInTimeRecoveryDays } = raw;
  const { alarmEmail, newKeyClaimAllowList, initialRemainingKeys, apiThrottle, account, region } = raw;
  const {
    exportScheduleMinutes = EXPORT_SCHEDULE_MINUTES.default,
    signingKeyVersion = 'v1',
    metricsUsagePlan,
    metricsReportTimeUtc = DEFAULT_METRICS_REPORT_TIME_UTC,
    cdnPriceClass = 'PriceClass_100',
    cdnDistributionId,
    wafRateLimits = DEFAULT_WAF_RATE_LIMITS,
    api5xxAlarmThreshold = DEFAULT_API_5XX_ALARM_THRESHOLD,
  } = raw;

  if (typeof stageName !== 'string' || !/^[a-z][a-z0-9-]{0,19}$/.test(stageName)) {
    problems.push(`${at('stageName')}: must be 1–20 characters of a-z, 0-9 and '-', starting with a letter`);
  } else if (stageName !== stage) {
    problems.push(`${at('stageName')}: must equal its key "${stage}" (got "${stageName}")`);
  }
  if (typeof regionCode !== 'string' || !/^\d{3}$/.test(regionCode)) {
    problems.push(`${at('regionCode')}: must be a 3-digit mobile country code string, e.g. "302"`);
  }
  if (typeof exportRegion !== 'string' || !/^[A-Z]{2}$/.test(exportRegion)) {
    problems.push(`${at('exportRegion')}: must be 2 upper-case letters, e.g. "CA"`);
  }
  if (!ALLOWED_LOG_RETENTION_DAYS.includes(logRetentionDays as LogRetentionDays)) {
    problems.push(
      `${at('logRetentionDays')}: must be one of ${ALLOWED_LOG_RETENTION_DAYS.join(', ')} ` +
        '(CloudWatch values ≤ 14 days; logs must not outlive the privacy retention)',
    );
  }
  if (!isInteger(pointInTimeRecoveryDays, 1, MAX_POINT_IN_TIME_RECOVERY_DAYS)) {
    problems.push(
      `${at('pointInTimeRecoveryDays')}: must be an integer 1–${MAX_POINT_IN_TIME_RECOVERY_DAYS} ` +
        `(items live ${LONGEST_ITEM_LIFETIME_DAYS} days; nothing personal may be restorable after ` +
        `${MAX_PERSONAL_RETENTION_DAYS})`,
    );
  }
  if (alarmEmail !== undefined && (typeof alarmEmail !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail))) {
    problems.push(`${at('alarmEmail')}: must be an e-mail address when present`);
  }
  if (!Array.isArray(newKeyClaimAllowList)) {
    problems.push(`${at('newKeyClaimAllowList')}: must be an array of CIDR strings (may be empty)`);
  } else {
    newKeyClaimAllowList.forEach((cidr: unknown, i) => {
      if (typeof cidr !== 'string' || !isCidr(cidr)) {
        problems.push(`${at(`newKeyClaimAllowList[${i}]`)}: must be an IPv4 or IPv6 CIDR (got ${JSON.stringify(cidr)})`);
      } else if (cidr.endsWith('/0')) {
        // WAF IP sets reject /0, and "everyone" is not an allow-list.
        problems.push(`${at(`newKeyClaimAllowList[${i}]`)}: a /0 prefix would allow every address; WAF IP sets accept /1 and longer`);
      }
    });
  }
  if (!isInteger(initialRemainingKeys, 1, 1000)) {
    problems.push(`${at('initialRemainingKeys')}: must be an integer 1–1000 (upstream shipped 43)`);
  }
  if (!isRecord(apiThrottle)) {
    problems.push(`${at('apiThrottle')}: must be an object { rateLimit, burstLimit }`);
  } else {
    if (!isInteger(apiThrottle.rateLimit, 1, 10_000)) {
      problems.push(`${at('apiThrottle.rateLimit')}: must be an integer 1–10000 (requests per second)`);
    }
    if (!isInteger(apiThrottle.burstLimit, 1, 5_000)) {
      problems.push(`${at('apiThrottle.burstLimit')}: must be an integer 1–5000`);
    }
    const unknown = Object.keys(apiThrottle).filter((k) => k !== 'rateLimit' && k !== 'burstLimit');
    for (const key of unknown) problems.push(`${at(`apiThrottle.${key}`)}: unknown field`);
  }
  if (!isInteger(exportScheduleMinutes, EXPORT_SCHEDULE_MINUTES.min, EXPORT_SCHEDULE_MINUTES.max)) {
    problems.push(
      `${at('exportScheduleMinutes')}: must be an integer ${EXPORT_SCHEDULE_MINUTES.min}–${EXPORT_SCHEDULE_MINUTES.max} ` +
        '(build-exports may run 5 minutes; today\'s bundle is cached 10 minutes)',
    );
  }
  if (typeof signingKeyVersion !== 'string' || !KEY_LABEL.test(signingKeyVersion)) {
    problems.push(`${at('signingKeyVersion')}: must be 1–32 of [A-Za-z0-9_.], e.g. "v1"`);
  }
  problems.push(...metricsUsagePlanProblems(metricsUsagePlan, apiThrottle, at));
  problems.push(...wafRateLimitsProblems(wafRateLimits, at));
  if (!isInteger(api5xxAlarmThreshold, 1, 100_000)) {
    problems.push(`${at('api5xxAlarmThreshold')}: must be an integer 1–100000 (5xx answers in 5 minutes)`);
  }
  if (typeof metricsReportTimeUtc !== 'string' || !TIME_OF_DAY.test(metricsReportTimeUtc)) {
    problems.push(`${at('metricsReportTimeUtc')}: must be a UTC time of day "HH:MM" (00:00–23:59), e.g. "03:00"`);
  }
  if (!CDN_PRICE_CLASSES.includes(cdnPriceClass as CdnPriceClass)) {
    problems.push(`${at('cdnPriceClass')}: must be one of ${CDN_PRICE_CLASSES.join(', ')}`);
  }
  if (cdnDistributionId !== undefined && (typeof cdnDistributionId !== 'string' || !/^E[A-Z0-9]{6,20}$/.test(cdnDistributionId))) {
    problems.push(`${at('cdnDistributionId')}: must be a CloudFront distribution id such as "E2QWRUHAPOMQZL" when present`);
  }
  if (account !== undefined && (typeof account !== 'string' || !/^\d{12}$/.test(account))) {
    problems.push(`${at('account')}: must be a 12-digit AWS account id when present`);
  }
  if (region !== undefined && (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))) {
    problems.push(`${at('region')}: must be an AWS region name such as "ca-central-1" when present`);
  }

  if (problems.length > 0) throw new StageConfigError(stage, problems);
  const throttle = apiThrottle as Record<string, number>;
  const usagePlan = metricsUsagePlan as Record<string, number>;
  return {
    stageName: stageName as string,
    regionCode: regionCode as string,
    exportRegion: exportRegion as string,
    logRetentionDays: logRetentionDays as LogRetentionDays,
    pointInTimeRecoveryDays: pointInTimeRecoveryDays as number,
    ...(alarmEmail !== undefined && { alarmEmail: alarmEmail as string }),
    newKeyClaimAllowList: [...(newKeyClaimAllowList as string[])],
    wafRateLimits: {
      claimKeyPer5Minutes: (wafRateLimits as Record<string, number>).claimKeyPer5Minutes,
      uploadPer5Minutes: (wafRateLimits as Record<string, number>).uploadPer5Minutes,
    },
    api5xxAlarmThreshold: api5xxAlarmThreshold as number,
    initialRemainingKeys: initialRemainingKeys as number,
    apiThrottle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
    exportScheduleMinutes: exportScheduleMinutes as number,
    signingKeyVersion: signingKeyVersion as string,
    metricsUsagePlan: { rateLimit: usagePlan.rateLimit, burstLimit: usagePlan.burstLimit, quotaPerDay: usagePlan.quotaPerDay },
    metricsReportTimeUtc: metricsReportTimeUtc as string,
    cdnPriceClass: cdnPriceClass as CdnPriceClass,
    ...(cdnDistributionId !== undefined && { cdnDistributionId: cdnDistributionId as string }),
    ...(account !== undefined && { account: account as string }),
    ...(region !== undefined && { region: region as string }),
  };
}

/**
 * Problems of `metricsUsagePlan`. Its limits are compared with the stage throttle only when that
 * one is valid itself: a usage plan cannot let more through than the stage does, so a larger
 * value would only be misleading.
 */
function metricsUsagePlanProblems(value: unknown, apiThrottle: unknown, at: (field: string) => string): string[] {
  const problems: string[] = [];
  if (!isRecord(value)) return [`${at('metricsUsagePlan')}: must be an object { rateLimit, burstLimit, quotaPerDay }`];
  const stage = isRecord(apiThrottle) ? apiThrottle : {};
  const limits = [
    ['rateLimit', 10_000, stage.rateLimit, 'requests per second'],
    ['burstLimit', 5_000, stage.burstLimit, 'requests'],
  ] as const;
  for (const [field, max, stageLimit, unit] of limits) {
    const limit = value[field];
    if (!isInteger(limit, 1, max)) {
      problems.push(`${at(`metricsUsagePlan.${field}`)}: must be an integer 1–${max} (${unit})`);
    } else if (isInteger(stageLimit, 1, max) && limit > stageLimit) {
      problems.push(`${at(`metricsUsagePlan.${field}`)}: must not exceed apiThrottle.${field} (${stageLimit}), which caps the whole stage`);
    }
  }
  if (!isInteger(value.quotaPerDay, 1, MAX_METRICS_QUOTA_PER_DAY)) {
    problems.push(`${at('metricsUsagePlan.quotaPerDay')}: must be an integer 1–${MAX_METRICS_QUOTA_PER_DAY} (requests per UTC day)`);
  }
  const known = new Set(['rateLimit', 'burstLimit', 'quotaPerDay']);
  for (const key of Object.keys(value).filter((k) => !known.has(k))) problems.push(`${at(`metricsUsagePlan.${key}`)}: unknown field`);
  return problems;
}

/** Problems of `wafRateLimits`: both limits required, integers in WAF's accepted range. */
function wafRateLimitsProblems(value: unknown, at: (field: string) => string): string[] {
  if (!isRecord(value)) return [`${at('wafRateLimits')}: must be an object { claimKeyPer5Minutes, uploadPer5Minutes }`];
  const problems: string[] = [];
  const known = ['claimKeyPer5Minutes', 'uploadPer5Minutes'];
  for (const field of known) {
    if (!isInteger(value[field], WAF_RATE_LIMIT_RANGE.min, WAF_RATE_LIMIT_RANGE.max)) {
      problems.push(
        `${at(`wafRateLimits.${field}`)}: must be an integer ${WAF_RATE_LIMIT_RANGE.min}–${WAF_RATE_LIMIT_RANGE.max} ` +
          '(requests per 5 minutes per IP)',
      );
    }
  }
  for (const key of Object.keys(value).filter((k) => !known.includes(k))) problems.push(`${at(`wafRateLimits.${key}`)}: unknown field`);
  return problems;
}

/**
 * Reads the selected stage (`stage` context, `-c stage=NAME` on the command line) from the
 * `stages` context map and validates it.
 */
export function stageConfigFromContext(node: Node): StageConfig {
  const stage: unknown = node.tryGetContext('stage');
  const stages: unknown = node.tryGetContext('stages');
  if (typeof stage !== 'string' || stage === '') {
    throw new StageConfigError(String(stage), ['context "stage" must name an entry of "stages" (cdk.json or -c stage=NAME)']);
  }
  if (!isRecord(stages)) {
    throw new StageConfigError(stage, ['context "stages" must be an object of stage configs (cdk.json)']);
  }
  if (!(stage in stages)) {
    throw new StageConfigError(stage, [`no stages.${stage} in context; known stages: ${Object.keys(stages).join(', ')}`]);
  }
  return parseStageConfig(stage, stages[stage]);
}
