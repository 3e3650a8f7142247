/**
 * exposure-configuration/CA.json and region.json against the COVID Alert app's schema rules
 * (reference/upstream-server.md §7.1: ExposureConfigurationSchema.json and regionSchema.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(__dirname, '..', '..', '..', 'exposure-configuration');
const readJson = (name: string): unknown => JSON.parse(readFileSync(join(DIR, name), 'utf8'));

const LEVEL_VALUES = [
  'attenuationLevelValues',
  'daysSinceLastExposureLevelValues',
  'durationLevelValues',
  'transmissionRiskLevelValues',
] as const;
const WEIGHTS = ['attenuationWeight', 'daysSinceLastExposureWeight', 'durationWeight', 'transmissionRiskWeight'] as const;
const PROVINCES = ['AB', 'BC', 'MB', 'NB', 'NL', 'NT', 'NS', 'NU', 'ON', 'PE', 'QC', 'SK', 'YT'];

const isInt = (v: unknown, min: number, max: number): boolean => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const isIntArray = (v: unknown, length: number, min: number, max: number): boolean =>
  Array.isArray(v) && v.length === length && v.every((x) => isInt(x, min, max));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The app's ExposureConfigurationSchema.json rules, as a list of violations. */
function exposureConfigurationErrors(config: unknown): string[] {
  if (!isObject(config)) return ['not an object'];
  const errors: string[] = [];
  if (!isInt(config.minimumRiskScore, 0, 4096)) errors.push('minimumRiskScore: integer 0..4096');
  // Upstream's schema lists it as optional, but the EN API needs the two thresholds: we require them.
  if (!isIntArray(config.attenuationDurationThresholds, 2, 0, 100)) errors.push('attenuationDurationThresholds: 2 integers 0..100');
  // The five *LevelValues arrays of reference §7.1 (attenuation, daysSinceLastExposure, duration, transmissionRisk).
  for (const name of LEVEL_VALUES) if (!isIntArray(config[name], 8, 0, 8)) errors.push(`${name}: 8 integers 0..8`);
  for (const name of WEIGHTS) if (!isInt(config[name], 0, 100)) errors.push(`${name}: integer 0..100`);
  if ('minimumExposureDurationMinutes' in config && !isInt(config.minimumExposureDurationMinutes, 0, 100)) {
    errors.push('minimumExposureDurationMinutes: integer 0..100');
  }
  return errors;
}

/** regionSchema.json plus what the app reads (RegionLogic: ExposureView.{Active,Inactive}.<code>.URL). */
function regionContentErrors(doc: unknown): string[] {
  if (!isObject(doc)) return ['not an object'];
  const errors: string[] = [];
  const active = doc.Active;
  if (!Array.isArray(active) || !active.every((code) => PROVINCES.includes(code as string))) errors.push('Active: array of province codes');
  for (const lang of ['en', 'fr']) {
    const content = isObject(doc[lang]) ? (doc[lang] as Record<string, unknown>).RegionContent : undefined;
    if (!isObject(content)) {
      errors.push(`${lang}.RegionContent: object`);
      continue;
    }
    for (const view of ['DiagnosedView', 'NoCode', 'ExposureView']) {
      const section = content[view];
      if (!isObject(section)) {
        errors.push(`${lang}.RegionContent.${view}: object`);
        continue;
      }
      for (const code of Array.isArray(active) ? active : []) {
        if (!isObject((section.Active as Record<string, unknown> | undefined)?.[code as string])) errors.push(`${lang}.${view}.Active.${code}: content`);
      }
    }
    const inactive = isObject(content.ExposureView) ? content.ExposureView.Inactive : undefined;
    const national = isObject(inactive) && isObject(inactive.CA) ? inactive.CA.URL : undefined;
    if (typeof national !== 'string' || national === '') errors.push(`${lang}.ExposureView.Inactive.CA.URL: the national fallback`);
  }
  return errors;
}

describe('exposure-configuration/CA.json', () => {
  test('satisfies the app schema rules', () => {
    // Act
    const errors = exposureConfigurationErrors(readJson('CA.json'));

    // Assess
    expect(errors).toEqual([]);
  });

  test('carries the last values the upstream server hard-coded (reference §7.1)', () => {
    // Act
    const config = readJson('CA.json');

    // Assess
    expect(config).toEqual({
      minimumRiskScore: 25,
      attenuationDurationThresholds: [50, 63],
      attenuationLevelValues: [1, 1, 8, 8, 8, 8, 8, 8],
      attenuationWeight: 1,
      daysSinceLastExposureLevelValues: [0, 1, 1, 1, 1, 1, 1, 1],
      daysSinceLastExposureWeight: 1,
      durationLevelValues: [0, 0, 0, 0, 4, 4, 5, 8],
      durationWeight: 1,
      minimumExposureDurationMinutes: 15,
      transmissionRiskLevelValues: [1, 1, 1, 1, 1, 1, 1, 1],
      transmissionRiskWeight: 1,
    });
  });

  test.each([
    ['7 level values', { attenuationLevelValues: [1, 1, 8, 8, 8, 8, 8] }, 'attenuationLevelValues'],
    ['3 thresholds', { attenuationDurationThresholds: [50, 63, 70] }, 'attenuationDurationThresholds'],
    ['a weight of 101', { durationWeight: 101 }, 'durationWeight'],
    ['a risk score of 4097', { minimumRiskScore: 4097 }, 'minimumRiskScore'],
    ['a fractional duration', { minimumExposureDurationMinutes: 1.5 }, 'minimumExposureDurationMinutes'],
    ['a duration of 101 minutes', { minimumExposureDurationMinutes: 101 }, 'minimumExposureDurationMinutes'],
  ])('the rules reject %s', (_name, change, field) => {
    // Prepare
    const config = { ...(readJson('CA.json') as object), ...change };

    // Act
    const errors = exposureConfigurationErrors(config);

    // Assess
    expect(errors).toEqual([expect.stringContaining(field)]);
  });
});

describe('exposure-configuration/region.json', () => {
  test('has Active province codes and en/fr RegionContent with DiagnosedView, NoCode and ExposureView', () => {
    // Act
    const errors = regionContentErrors(readJson('region.json'));

    // Assess
    expect(errors).toEqual([]);
  });

  test('links only to placeholders and carries no phone numbers', () => {
    // Act
    const text = readFileSync(join(DIR, 'region.json'), 'utf8');
    const urls = text.match(/https?:\/\/[^"\s]+/g) ?? [];

    // Assess
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.filter((url) => !url.startsWith('https://example.org/'))).toEqual([]);
    expect(text).not.toMatch(/\d{3}[\s.-]\d{3}[\s.-]\d{4}/);
  });

  test('the rules reject a document without fr, or with an unknown province', () => {
    // Prepare
    const doc = readJson('region.json') as Record<string, unknown>;
    const { fr: _fr, ...withoutFr } = doc;

    // Act
    const missingFr = regionContentErrors(withoutFr);
    const unknownProvince = regionContentErrors({ ...doc, Active: ['ON', 'XX'] });

    // Assess
    expect(missingFr).toEqual(['fr.RegionContent: object']);
    expect(unknownProvince).toEqual(expect.arrayContaining(['Active: array of province codes']));
  });
});
