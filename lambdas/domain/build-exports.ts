/**
 * The build-exports job: write the signed bundle of every served period (`00000` and the days
 * today−14 … today) to `exports/{region}/{period}.zip`.
 *
 * Each UTC day's submissions are read once per run (the union of the windows is today−15 …
 * today) and the exported keys of a day serve both that day's bundle and `00000`. The RSIN filter
 * depends only on `nowMs`, so it is applied as the pages arrive and only exported keys are held.
 * Bundles are then encoded one at a time, so at most one zip is in memory.
 *
 * Idempotent: the same keys at the same time give the same object keys and the same export.bin
 * (only the randomized ECDSA signatures differ), so a re-run or an overlapping run overwrites a
 * bundle with equivalent content. Empty periods still get a valid, signed, empty bundle.
 */
import type { BlobStore, Clock, ExportKeyReader, Signer, StoredKey } from '../ports';
import {
  cacheControl,
  daysOfWindow,
  exportObjectKey,
  isExportedKey,
  periodWindow,
  selectKeys,
  servedPeriods,
  type BundleWindow,
} from './bundles';
import { encodeExport } from './export-file';

export const EXPORT_CONTENT_TYPE = 'application/zip';

export interface ExportSettings {
  /** MCC whose keys are exported and that names the objects (REGION_CODE, e.g. 302). */
  readonly regionCode: string;
  /** The export's `region` field (EXPORT_REGION, e.g. CA). */
  readonly exportRegion: string;
}

export const DEFAULT_EXPORT_SETTINGS: ExportSettings = { regionCode: '302', exportRegion: 'CA' };

export interface BuildExportsDeps {
  readonly reader: ExportKeyReader;
  readonly blobs: BlobStore;
  /** Newest first; each adds a SignatureInfo and a TEKSignature. */
  readonly signers: readonly Signer[];
  readonly settings: ExportSettings;
  /** Used when no explicit time is given. */
  readonly clock?: Clock;
}

export interface BuildExportsSummary {
  /** Every period written, in the order written. */
  readonly periods: readonly string[];
  readonly keysPerPeriod: Readonly<Record<string, number>>;
  /** Total size of the zips written. */
  readonly bytesWritten: number;
}

export async function buildExports(deps: BuildExportsDeps, nowMs: number = requireClock(deps).nowMs()): Promise<BuildExportsSummary> {
  const windows = servedPeriods(nowMs).map((period) => windowOf(period, nowMs));
  const keysByDay = await readDays(deps, [...new Set(windows.flatMap(daysOfWindow))], nowMs);

  const keysPerPeriod: Record<string, number> = {};
  let bytesWritten = 0;
  for (const window of windows) {
    const keys = selectKeys(daysOfWindow(window).flatMap((day) => keysByDay.get(day) ?? []), nowMs);
    const { zip } = await encodeExport(
      { startTimestamp: window.startTimestamp, endTimestamp: window.endTimestamp, region: deps.settings.exportRegion, keys },
      deps.signers,
    );
    await deps.blobs.put(exportObjectKey(deps.settings.regionCode, window.period), zip, {
      contentType: EXPORT_CONTENT_TYPE,
      cacheControl: cacheControl(window.period, nowMs),
    });
    keysPerPeriod[window.period] = keys.length;
    bytesWritten += zip.length;
  }
  return { periods: windows.map((w) => w.period), keysPerPeriod, bytesWritten };
}

function requireClock(deps: BuildExportsDeps): Clock {
  if (!deps.clock) throw new Error('buildExports: pass nowMs or a clock');
  return deps.clock;
}

function windowOf(period: string, nowMs: number): BundleWindow {
  const lookup = periodWindow(period, nowMs);
  if (lookup.kind !== 'window') throw new Error(`served period ${period} has no window`);
  return lookup.window;
}

/**
 * The exported keys submitted on each day, one whole UTC day per reader call; the days are read
 * concurrently (16 queries at most), the pages of one day in order.
 */
async function readDays(deps: BuildExportsDeps, days: readonly number[], nowMs: number): Promise<Map<number, StoredKey[]>> {
  const readDay = async (day: number): Promise<[number, StoredKey[]]> => {
    const kept: StoredKey[] = [];
    for await (const page of deps.reader.keysSubmitted(deps.settings.regionCode, day * 24, day * 24 + 24, nowMs)) {
      for (const key of page) if (isExportedKey(key, nowMs)) kept.push(key);
    }
    return [day, kept];
  };
  return new Map(await Promise.all(days.map(readDay)));
}
