/**
 * The aggregate key and attributes of one payload item (reference/metrics-upstream.md §3 steps
 * 2–5), kept as upstream so that reports keep the published vocabulary, and the identity of a
 * payload item for the exactly-once ledger (spec/METRICS.md rule 2). Pure.
 *
 *   pk = region (`None` when empty or absent)
 *   sk = region#identifier#date#appos#osversion#appversion#manufacturer#model#
 *        androidreleaseversion#pushnotification#frameworkenabled#state#
 *        hoursSinceExposureDetectedAt#count#duration#withDate#isUserExposed
 *
 * From `manufacturer` on, an empty or absent part is `*`, except a boolean `false`, which stays
 * `false` (upstream's `p()`: any other falsy value, such as the number 0, is `*` too). `region`,
 * `identifier`, `date`, `appos`, `osversion` and `appversion` are never starred (a missing
 * `osversion` leaves an empty part). `count` and `duration` are bucketed; `status` is stored but
 * is not part of the key (upstream).
 */
import { createHash } from 'node:crypto';
import type { AggregateAttributes, AggregateKey } from '../../ports';
import { bucketCheckCount, bucketDuration, utcDate, type MetricValue } from './bucketing';
import { DEVICE_FIELDS, type MetricsEnvelope, type PayloadItem } from './envelope';

/** Upstream METRIC_VERSION, stored as `version` on every aggregate. */
export const METRIC_VERSION = 6;
export const KEY_SEPARATOR = '#';
export const NO_REGION = 'None';

/** The per-event fields that are part of the key, in key order (after the device fields). */
export const KEYED_EVENT_FIELDS = [
  'pushnotification',
  'frameworkenabled',
  'state',
  'hoursSinceExposureDetectedAt',
  'count',
  'duration',
  'withDate',
  'isUserExposed',
] as const;

type Value = MetricValue | null | undefined;

/** A starred key part (upstream `p()`): '' and every falsy value but `false` become `*`. */
export function keyPart(value: Value): string {
  if (value === false) return 'false';
  if (value === '' || value === undefined || value === null || value === 0 || Number.isNaN(value)) return '*';
  return String(value);
}

/** An envelope device field with upstream's default: absent or falsy → ''. */
export function deviceValue(value: Value): string {
  return value === undefined || value === null || value === false || value === 0 || value === '' ? '' : String(value);
}

/** A stored attribute: absent → '' (upstream `c()`), otherwise the value as text (false → 'false'). */
export function attributeValue(value: Value): string {
  return value === undefined || value === null ? '' : String(value);
}

export const regionOf = (item: Pick<PayloadItem, 'region'>): string => (item.region ? item.region : NO_REGION);

export interface Aggregate {
  readonly key: AggregateKey;
  readonly attributes: AggregateAttributes;
}

/**
 * Key and attributes of one payload item. The item's timestamp must be countable
 * (bucketing.isCountableTimestamp); `date` is its UTC calendar date.
 */
export function buildAggregate(envelope: MetricsEnvelope, item: PayloadItem): Aggregate {
  const region = regionOf(item);
  const date = utcDate(item.timestamp);
  const osversion = deviceValue(envelope.osversion);
  const manufacturer = deviceValue(envelope.manufacturer);
  const model = deviceValue(envelope.model);
  const androidreleaseversion = deviceValue(envelope.androidreleaseversion);
  const event: Record<(typeof KEYED_EVENT_FIELDS)[number], Value> = {
    pushnotification: item.pushnotification,
    frameworkenabled: item.frameworkenabled,
    state: item.state,
    hoursSinceExposureDetectedAt: item.hoursSinceExposureDetectedAt,
    count: bucketCheckCount(item.count),
    duration: bucketDuration(item.durationInSeconds),
    withDate: item.withDate,
    isUserExposed: item.isUserExposed,
  };
  const sk = [
    region,
    item.identifier,
    date,
    envelope.appos,
    osversion,
    envelope.appversion,
    keyPart(manufacturer),
    keyPart(model),
    keyPart(androidreleaseversion),
    ...KEYED_EVENT_FIELDS.map((name) => keyPart(event[name])),
  ].join(KEY_SEPARATOR);
  return {
    key: { pk: region, sk },
    attributes: {
      identifier: item.identifier,
      date,
      region,
      appos: envelope.appos,
      osversion,
      appversion: envelope.appversion,
      manufacturer,
      model,
      androidreleaseversion,
      pushnotification: attributeValue(event.pushnotification),
      frameworkenabled: attributeValue(event.frameworkenabled),
      state: attributeValue(event.state),
      status: attributeValue(item.status),
      hoursSinceExposureDetectedAt: attributeValue(event.hoursSinceExposureDetectedAt),
      count: attributeValue(event.count),
      duration: attributeValue(event.duration),
      withDate: attributeValue(event.withDate),
      isUserExposed: attributeValue(event.isUserExposed),
      version: METRIC_VERSION,
    },
  };
}

/**
 * Identity of a payload item for the ledger: SHA-256 (hex) of the envelope's device fields (appos,
 * osversion, appversion, manufacturer, model, androidreleaseversion, as sent), the identifier,
 * the item timestamp and every other field of the item in key order. `metricstimestamp` (the push
 * time, new on every re-send) is deliberately not part of it: a re-sent event has the same
 * identity. Values keep their JSON type, so `"1"` and `1` differ.
 */
export function itemIdentity(envelope: MetricsEnvelope, item: PayloadItem): string {
  const { identifier, timestamp, ...fields } = item;
  const canonical = [
    'metrics-item/v1',
    DEVICE_FIELDS.map((name) => [name, envelope[name] ?? null]),
    identifier,
    timestamp,
    Object.keys(fields)
      .sort()
      .map((name) => [name, fields[name]]),
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
