import {
  compareVersions,
  DIMENSIONS,
  headerOf,
  isDense,
  reportGroups,
  REPORTS,
} from '../../../lambdas/domain/metrics/report-catalogue';
import { reportNamed, row } from './builders';

describe('report catalogue (upstream §4)', () => {
  test('the 35 in-app files, by name, each once', () => {
    // Prepare
    const expected = [
      'active_users', 'active_users_os', 'active_users_os_av', 'active_users_pt', 'active_users_pt_os',
      'daily_background_check_started_os', 'daily_background_check_successfully_completed_os',
      'background_checks_nc', 'background_checks_nc_os', 'background_checks_nc_os_av',
      'clear_exposed',
      'exposed', 'exposed_pt', 'exposed_pt_os', 'exposed_es', 'exposed_pt_es',
      'installs', 'installs_os', 'installs_os_av',
      'onboarded_os', 'onboarded_os_av', 'onboarded_fs_np',
      'otk', 'otk_pt', 'otk_pt_os', 'otk_es', 'otk_pt_dp',
      'qr_code_successfully_scanned', 'qr_code_successfully_scanned_os',
      'error_400_keys_download', 'error_400_keys_download_os',
      'error_500_qr_parse', 'error_500_qr_parse_os',
      'error_500_qr_url', 'error_500_qr_url_os',
    ];

    // Act
    const names = REPORTS.map((r) => r.name);

    // Assess
    expect(names).toEqual(expected);
    expect(new Set(names).size).toBe(35);
  });

  test('bilingual headers: date first, count-nombre last, dimensions in the published column order', () => {
    // Prepare
    const expected: Record<string, string> = {
      active_users: 'date,count-nombre',
      active_users_pt_os: 'date,region,os-se,count-nombre',
      active_users_os_av: 'date,os-se,app_version-version_appli,count-nombre',
      background_checks_nc_os_av: 'date,number_of_checks-no_verification,os-se,app_version-version_appli,count-nombre',
      exposed_pt_es: 'date,region,exposure_status-etat_verification,count-nombre',
      onboarded_fs_np: 'date,framework_status-etat_cadre,notification_permission-permission_notif,count-nombre',
      otk_pt_dp: 'date,region,date_provided-date_fournie,count-nombre',
      otk_es: 'date,exposure_status-etat_verification,count-nombre',
    };

    // Act
    const headers = Object.fromEntries(Object.keys(expected).map((name) => [name, headerOf(reportNamed(name)).join(',')]));

    // Assess
    expect(headers).toEqual(expected);
  });

  test('sources: each identifier feeds exactly one group of files', () => {
    // Prepare
    const groups = reportGroups();

    // Act
    const identifiers = groups.flatMap((g) => g.identifiers);
    const bySource = Object.fromEntries(groups.map((g) => [g.identifiers.join('+'), g.reports.map((r) => r.name).length]));

    // Assess
    expect(new Set(identifiers).size).toBe(identifiers.length);
    expect(bySource).toEqual({
      'active-user': 5,
      'scheduled-check-started-today': 1,
      'scheduled-check-successful-today': 1,
      'background-check': 3,
      'exposed-clear': 1,
      exposed: 5,
      installed: 3,
      onboarded: 3,
      'otk-entered+otk-entered-v2+otk-with-date+otk-no-date': 5,
      'qr-code-successfully-scanned': 2,
      'error-400-keys-download': 2,
      'error-500-qr-parse': 2,
      'error-500-qr-url': 2,
    });
  });

  test('means for active users and the daily background check files, sums for all others', () => {
    // Prepare / Act
    const means = REPORTS.filter((r) => r.rollUp === 'mean').map((r) => r.name);

    // Assess
    expect(means).toEqual([
      'active_users', 'active_users_os', 'active_users_os_av', 'active_users_pt', 'active_users_pt_os',
      'daily_background_check_started_os', 'daily_background_check_successfully_completed_os',
    ]);
  });

  test('dense files are exactly those without an app version column', () => {
    // Prepare / Act
    const sparse = REPORTS.filter((r) => !isDense(r)).map((r) => r.name);

    // Assess
    expect(sparse).toEqual(['active_users_os_av', 'background_checks_nc_os_av', 'installs_os_av', 'onboarded_os_av']);
    expect(REPORTS.filter((r) => isDense(r)).every((r) => !headerOf(r).includes('app_version-version_appli'))).toBe(true);
  });
});

describe('vocabularies', () => {
  test('region: the 13 PT codes in published order, then npts-ptso for None, empty and unknown values', () => {
    // Prepare
    const inputs = ['ON', 'None', '', 'on', ' QC ', 'XX', 'CA'];

    // Act
    const mapped = inputs.map((region) => DIMENSIONS.region.categorize(row({ region })));

    // Assess
    expect(DIMENSIONS.region.vocabulary).toEqual(['AB', 'BC', 'MB', 'NB', 'NL', 'NT', 'NS', 'NU', 'ON', 'PE', 'QC', 'SK', 'YT', 'npts-ptso']);
    expect(mapped).toEqual(['ON', 'npts-ptso', 'npts-ptso', 'ON', 'QC', 'npts-ptso', 'npts-ptso']);
  });

  test('os: android and ios (any case); other values have no category', () => {
    // Prepare
    const inputs = ['android', 'Android', 'ios', 'iOS', 'windows', ''];

    // Act
    const mapped = inputs.map((appos) => DIMENSIONS.os.categorize(row({ appos })));

    // Assess
    expect(DIMENSIONS.os.vocabulary).toEqual(['android', 'ios']);
    expect(mapped).toEqual(['android', 'android', 'ios', 'ios', undefined, undefined]);
  });

  test('number of checks: the five bucket labels, ascending; raw numbers have no category', () => {
    // Prepare
    const inputs = ['0', '1-6', '7-12', '13-30', '30+', '5', '', 'abc'];

    // Act
    const mapped = inputs.map((count) => DIMENSIONS.checks.categorize(row({ count })));

    // Assess
    expect(DIMENSIONS.checks.vocabulary).toEqual(['0', '1-6', '7-12', '13-30', '30+']);
    expect(mapped).toEqual(['0', '1-6', '7-12', '13-30', '30+', undefined, undefined, undefined]);
  });

  test('exposure status: exposed-expose for true / proximity / outbreak, monitoring-surveillance otherwise', () => {
    // Prepare
    const exposed = ['true', 'proximity', 'outbreak', 'proximity,outbreak'];
    const monitoring = ['false', '', '*'];

    // Act
    const map = (values: string[]) => values.map((isUserExposed) => DIMENSIONS.exposureStatus.categorize(row({ isUserExposed })));

    // Assess
    expect(map(exposed)).toEqual(exposed.map(() => 'exposed-expose'));
    expect(map(monitoring)).toEqual(monitoring.map(() => 'monitoring-surveillance'));
    expect(DIMENSIONS.exposureStatus.vocabulary).toEqual(['exposed-expose', 'monitoring-surveillance']);
  });

  test('framework status and notification permission: the published bilingual values', () => {
    // Prepare
    const frameworks = ['true', 'false', ''];
    const permissions = ['granted', 'denied', 'blocked', 'unavailable', 'limited', '', 'constructor'];

    // Act
    const f = frameworks.map((frameworkenabled) => DIMENSIONS.framework.categorize(row({ frameworkenabled })));
    const p = permissions.map((pushnotification) => DIMENSIONS.permission.categorize(row({ pushnotification })));

    // Assess
    expect(f).toEqual(['enabled-active', 'disabled-desactive', 'disabled-desactive']);
    expect(p).toEqual(['granted-autorise', 'denied-refuse', 'blocked-bloque', undefined, undefined, undefined, undefined]);
    expect(DIMENSIONS.framework.vocabulary).toEqual(['enabled-active', 'disabled-desactive']);
    expect(DIMENSIONS.permission.vocabulary).toEqual(['blocked-bloque', 'granted-autorise', 'denied-refuse']);
  });

  test('date provided: date for withDate true (or the retired otk-with-date), no_date-date_so otherwise', () => {
    // Prepare
    const inputs = ['true', 'false', ''];

    // Act
    const mapped = inputs.map((withDate) => DIMENSIONS.dateProvided.categorize(row({ identifier: 'otk-entered-v2', withDate })));
    const retired = [
      DIMENSIONS.dateProvided.categorize(row({ identifier: 'otk-with-date', withDate: '' })),
      DIMENSIONS.dateProvided.categorize(row({ identifier: 'otk-no-date', withDate: 'true' })),
    ];

    // Assess
    expect(mapped).toEqual(['date', 'no_date-date_so', 'no_date-date_so']);
    expect(retired).toEqual(['date', 'no_date-date_so']);
  });

  test('app versions: kept as sent, sorted in natural version order', () => {
    // Prepare
    const versions = ['1.2.10', '2.0.0', '1.2.9', '1.10.0', '1.2.0', '', '1.2.9b', '1.2.9a', '1.02.9'];

    // Act
    const sorted = [...versions].sort(compareVersions);

    // Assess
    expect(DIMENSIONS.appVersion.categorize(row({ appversion: ' 1.5.4 ' }))).toBe(' 1.5.4 ');
    expect(sorted).toEqual(['', '1.2.0', '1.02.9', '1.2.9', '1.2.9a', '1.2.9b', '1.2.10', '1.10.0', '2.0.0']);
  });
});
