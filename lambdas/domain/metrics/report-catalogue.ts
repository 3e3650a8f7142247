/**
 * The catalogue of nightly CSV reports (upstream §4): the 35 in-app files that exist in each of
 * the three period folders, their source identifiers, dimensions, bilingual column names and
 * value vocabularies. The 8 server-side OTK and app-store files of the published data come from
 * other ETLs and are out of scope (upstream §4).
 *
 * Where the reference is silent, these choices are made (each is pinned by a unit test):
 *  1. Category order. The reference lists the vocabularies, not their order; the order here is
 *     the one of the published files: regions by English name (… NL, NT, NS, NU …) then
 *     `npts-ptso`; `android`, `ios`; `exposed-expose`, `monitoring-surveillance`;
 *     `enabled-active`, `disabled-desactive`; `blocked-bloque`, `granted-autorise`,
 *     `denied-refuse`; `date`, `no_date-date_so`; check buckets ascending. App versions (an open
 *     vocabulary) sort in natural version order (1.2.9 < 1.2.10), as published.
 *  2. Values outside a vocabulary. Region: any value that is not one of the 13 codes (after
 *     trimming and upper-casing) is "no province/territory" (`npts-ptso`), so `*_pt` files add
 *     up to their region-less file. OS: only `android` / `ios` (case-insensitive); rows with
 *     another OS are left out of files with an OS column. Check buckets: only the five labels.
 *     Framework: `true` → enabled, anything else → disabled. Notification permission: only
 *     granted / denied / blocked; rows with `unavailable`, `limited` or empty are left out of
 *     onboarded_fs_np. Date provided: `true` → `date`, anything else → `no_date-date_so`.
 *  3. Exposure status (`*_es`): `isUserExposed` non-empty and not `false` → exposed (upstream's
 *     inference for otk; for `exposed` it means `true` → exposed), else monitoring.
 *  4. Sources: otk* read `otk-entered` and `otk-entered-v2` (the reference's "otk-entered(-v2)")
 *     and also the retired `otk-with-date` / `otk-no-date` (Feb–Mar 2021; no fields, the date
 *     information is the identifier), which aggregate-metrics still counts: an OTK entered is an
 *     OTK entered. The retired `exposed-outbreak` is not an exposure notification of the
 *     `exposed` family and, like en-toggle and background-process, is not reported.
 *  5. Means (report-rollup.ts): the period's sum divided by its days within the series (a day
 *     without rows counts as 0; a partial first period divides by its own days), truncated.
 *  6. Series start (report.ts): each identifier group starts on its own first date, as the
 *     published files do; a group without data gets header-only files.
 *  7. CSV (report-csv.ts): app versions starting with = + - @ TAB CR get a leading apostrophe
 *     (spreadsheet formula injection); the reference has no such case.
 */
import type { AggregateRow } from './report-ports';

export interface Dimension {
  readonly name: string;
  /** Bilingual column name (`english-french`; `date` and `region` are the same in both). */
  readonly column: string;
  /** The row's category in this dimension; undefined leaves the row out of files with it. */
  categorize(row: AggregateRow): string | undefined;
  /** Closed vocabulary in output order; absent for an open dimension (app version). */
  readonly vocabulary?: readonly string[];
  /** Order of an open dimension's categories. */
  readonly compare?: (a: string, b: string) => number;
  /** Client-supplied text: neutralised against spreadsheet formulas when written. */
  readonly freeText?: boolean;
}

/** How a weekly/monthly value derives from the daily values of the period. */
export type RollUp = 'mean' | 'sum';

export interface ReportDefinition {
  /** File base name: `<name>.<period folder>.csv`. */
  readonly name: string;
  /** Source identifiers (aggregate `identifier` attribute). */
  readonly identifiers: readonly string[];
  /** Dimensions after `date`, in column order. */
  readonly dimensions: readonly Dimension[];
  /** `mean` (integer, truncated) of the daily values for active-user-style files, else `sum`. */
  readonly rollUp: RollUp;
}

export const DATE_COLUMN = 'date';
export const COUNT_COLUMN = 'count-nombre';

/** Written instead of any value below the threshold in the masked output. */
export const MASK_THRESHOLD = 20;
export const MASK_TEXT = '<20';

// ----- vocabularies ---------------------------------------------------------------------------

/** The 13 province/territory codes, in the published order (by English name). */
export const REGION_CODES = ['AB', 'BC', 'MB', 'NB', 'NL', 'NT', 'NS', 'NU', 'ON', 'PE', 'QC', 'SK', 'YT'] as const;
/** Region `None` (not chosen): "no province/territory" – "pas de province/territoire". */
export const NO_REGION = 'npts-ptso';
export const OS_VALUES = ['android', 'ios'] as const;
export const CHECK_BUCKETS = ['0', '1-6', '7-12', '13-30', '30+'] as const;
export const EXPOSURE_STATUS = { exposed: 'exposed-expose', monitoring: 'monitoring-surveillance' } as const;
export const FRAMEWORK_STATUS = { enabled: 'enabled-active', disabled: 'disabled-desactive' } as const;
export const NOTIFICATION_PERMISSION = {
  blocked: 'blocked-bloque',
  granted: 'granted-autorise',
  denied: 'denied-refuse',
} as const;
export const DATE_PROVIDED = { date: 'date', noDate: 'no_date-date_so' } as const;

/** Retired OTK identifiers whose name says whether a date was provided. */
const OTK_WITH_DATE = 'otk-with-date';
const OTK_NO_DATE = 'otk-no-date';

const clean = (value: string): string => value.trim();
const regionCodes: ReadonlySet<string> = new Set(REGION_CODES);
const osValues: ReadonlySet<string> = new Set(OS_VALUES);
const checkBuckets: ReadonlySet<string> = new Set(CHECK_BUCKETS);

/** Natural version order: digit runs compare as numbers (1.2.9 < 1.2.10), then code points. */
export function compareVersions(a: string, b: string): number {
  const left = a.match(/\d+|\D+/g) ?? [];
  const right = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const [x, y] = [left[i], right[i]];
    if (x === y) continue;
    const numeric = /^\d/.test(x) && /^\d/.test(y);
    if (numeric) {
      const [nx, ny] = [x.replace(/^0+(?=\d)/, ''), y.replace(/^0+(?=\d)/, '')];
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else {
      return x < y ? -1 : 1;
    }
  }
  if (left.length !== right.length) return left.length - right.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const DIMENSIONS = {
  region: {
    name: 'region',
    column: 'region',
    vocabulary: [...REGION_CODES, NO_REGION],
    categorize: (row) => {
      const code = clean(row.region).toUpperCase();
      return regionCodes.has(code) ? code : NO_REGION;
    },
  },
  os: {
    name: 'os',
    column: 'os-se',
    vocabulary: OS_VALUES,
    categorize: (row) => {
      const os = clean(row.appos).toLowerCase();
      return osValues.has(os) ? os : undefined;
    },
  },
  appVersion: {
    name: 'appVersion',
    column: 'app_version-version_appli',
    compare: compareVersions,
    freeText: true,
    categorize: (row) => row.appversion,
  },
  checks: {
    name: 'checks',
    column: 'number_of_checks-no_verification',
    vocabulary: CHECK_BUCKETS,
    categorize: (row) => (checkBuckets.has(clean(row.count)) ? clean(row.count) : undefined),
  },
  exposureStatus: {
    name: 'exposureStatus',
    column: 'exposure_status-etat_verification',
    vocabulary: [EXPOSURE_STATUS.exposed, EXPOSURE_STATUS.monitoring],
    categorize: (row) => {
      const value = clean(row.isUserExposed).toLowerCase();
      return value !== '' && value !== 'false' && value !== '*' ? EXPOSURE_STATUS.exposed : EXPOSURE_STATUS.monitoring;
    },
  },
  framework: {
    name: 'framework',
    column: 'framework_status-etat_cadre',
    vocabulary: [FRAMEWORK_STATUS.enabled, FRAMEWORK_STATUS.disabled],
    categorize: (row) => (clean(row.frameworkenabled).toLowerCase() === 'true' ? FRAMEWORK_STATUS.enabled : FRAMEWORK_STATUS.disabled),
  },
  permission: {
    name: 'permission',
    column: 'notification_permission-permission_notif',
    vocabulary: [NOTIFICATION_PERMISSION.blocked, NOTIFICATION_PERMISSION.granted, NOTIFICATION_PERMISSION.denied],
    categorize: (row) => {
      const value = clean(row.pushnotification).toLowerCase();
      return Object.hasOwn(NOTIFICATION_PERMISSION, value) ? NOTIFICATION_PERMISSION[value as keyof typeof NOTIFICATION_PERMISSION] : undefined;
    },
  },
  dateProvided: {
    name: 'dateProvided',
    column: 'date_provided-date_fournie',
    vocabulary: [DATE_PROVIDED.date, DATE_PROVIDED.noDate],
    categorize: (row) =>
      row.identifier === OTK_WITH_DATE || (row.identifier !== OTK_NO_DATE && clean(row.withDate).toLowerCase() === 'true')
        ? DATE_PROVIDED.date
        : DATE_PROVIDED.noDate,
  },
} as const satisfies Record<string, Dimension>;

// ----- the files --------------------------------------------------------------------------------

const { region, os, appVersion, checks, exposureStatus, framework, permission, dateProvided } = DIMENSIONS;

const family = (
  base: string,
  identifiers: readonly string[],
  rollUp: RollUp,
  variants: readonly (readonly [suffix: string, dimensions: readonly Dimension[]])[],
): ReportDefinition[] => variants.map(([suffix, dimensions]) => ({ name: `${base}${suffix}`, identifiers, dimensions, rollUp }));

const withOs = (base: string, identifier: string): ReportDefinition[] =>
  family(base, [identifier], 'sum', [
    ['', []],
    ['_os', [os]],
  ]);

/** Every report file, in the order they are written. */
export const REPORTS: readonly ReportDefinition[] = [
  ...family('active_users', ['active-user'], 'mean', [
    ['', []],
    ['_os', [os]],
    ['_os_av', [os, appVersion]],
    ['_pt', [region]],
    ['_pt_os', [region, os]],
  ]),
  ...family('daily_background_check_started', ['scheduled-check-started-today'], 'mean', [['_os', [os]]]),
  ...family('daily_background_check_successfully_completed', ['scheduled-check-successful-today'], 'mean', [['_os', [os]]]),
  ...family('background_checks', ['background-check'], 'sum', [
    ['_nc', [checks]],
    ['_nc_os', [checks, os]],
    ['_nc_os_av', [checks, os, appVersion]],
  ]),
  ...family('clear_exposed', ['exposed-clear'], 'sum', [['', []]]),
  ...family('exposed', ['exposed'], 'sum', [
    ['', []],
    ['_pt', [region]],
    ['_pt_os', [region, os]],
    ['_es', [exposureStatus]],
    ['_pt_es', [region, exposureStatus]],
  ]),
  ...family('installs', ['installed'], 'sum', [
    ['', []],
    ['_os', [os]],
    ['_os_av', [os, appVersion]],
  ]),
  ...family('onboarded', ['onboarded'], 'sum', [
    ['_os', [os]],
    ['_os_av', [os, appVersion]],
    ['_fs_np', [framework, permission]],
  ]),
  ...family('otk', ['otk-entered', 'otk-entered-v2', OTK_WITH_DATE, OTK_NO_DATE], 'sum', [
    ['', []],
    ['_pt', [region]],
    ['_pt_os', [region, os]],
    ['_es', [exposureStatus]],
    ['_pt_dp', [region, dateProvided]],
  ]),
  ...withOs('qr_code_successfully_scanned', 'qr-code-successfully-scanned'),
  ...withOs('error_400_keys_download', 'error-400-keys-download'),
  ...withOs('error_500_qr_parse', 'error-500-qr-parse'),
  ...withOs('error_500_qr_url', 'error-500-qr-url'),
];

/**
 * Dense files list every date × every category combination (zeros included); files with an
 * open dimension (app version) list only the combinations observed in the period.
 */
export const isDense = (report: ReportDefinition): boolean => report.dimensions.every((d) => d.vocabulary !== undefined);

/** The header row: `date`, the dimension columns, `count-nombre`. */
export const headerOf = (report: ReportDefinition): string[] => [DATE_COLUMN, ...report.dimensions.map((d) => d.column), COUNT_COLUMN];

/**
 * The reports sharing one set of source identifiers, in catalogue order: a group is read once
 * and all of its files are written as soon as its identifiers have been read.
 */
export interface ReportGroup {
  readonly identifiers: readonly string[];
  readonly reports: readonly ReportDefinition[];
}

export function reportGroups(reports: readonly ReportDefinition[] = REPORTS): ReportGroup[] {
  const groups = new Map<string, { identifiers: readonly string[]; reports: ReportDefinition[] }>();
  for (const report of reports) {
    const key = report.identifiers.join('\n');
    const group = groups.get(key) ?? { identifiers: report.identifiers, reports: [] };
    group.reports.push(report);
    groups.set(key, group);
  }
  return [...groups.values()];
}
