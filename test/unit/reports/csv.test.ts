import { csvField, csvLine, maskValue, neutraliseFormula, renderReport } from '../../../lambdas/domain/metrics/report-csv';
import { reportNamed } from './builders';

describe('CSV (RFC 4180)', () => {
  test('fields are quoted only when they contain a comma, a double quote, CR or LF; quotes are doubled', () => {
    // Prepare
    const inputs = ['plain', '1.2.3', 'a,b', 'say "hi"', 'two\nlines', 'cr\r', '', '<20'];

    // Act
    const fields = inputs.map(csvField);

    // Assess
    expect(fields).toEqual(['plain', '1.2.3', '"a,b"', '"say ""hi"""', '"two\nlines"', '"cr\r"', '', '<20']);
  });

  test('a record ends with \\n, never \\r\\n', () => {
    // Prepare / Act
    const line = csvLine(['2021-03-01', 'a,b', '3']);

    // Assess
    expect(line).toBe('2021-03-01,"a,b",3\n');
  });

  test('app versions that a spreadsheet would evaluate get a leading apostrophe', () => {
    // Prepare
    const inputs = ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '1.5.4'];

    // Act
    const out = inputs.map(neutraliseFormula);

    // Assess
    expect(out).toEqual(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", '1.5.4']);
  });
});

describe('masking', () => {
  test('every value below 20 is written as <20; 20 and above as is', () => {
    // Prepare
    const values = [0, 1, 19, 20, 21, 1_000_000];

    // Act
    const masked = values.map(maskValue);

    // Assess
    expect(masked).toEqual(['<20', '<20', '<20', '20', '21', '1000000']);
  });

  test('renderReport writes the same rows twice: exact values unmasked, <20 in the masked text', () => {
    // Prepare
    const report = reportNamed('active_users_os_av');
    const rows = [
      { date: '2021-03-01', categories: ['android', '1.2,3'], value: 19 },
      { date: '2021-03-01', categories: ['ios', '=cmd'], value: 20 },
    ];

    // Act
    const rendered = renderReport(report, rows);

    // Assess
    expect(rendered.rows).toBe(2);
    expect(rendered.unmasked).toBe(
      'date,os-se,app_version-version_appli,count-nombre\n2021-03-01,android,"1.2,3",19\n2021-03-01,ios,\'=cmd,20\n',
    );
    expect(rendered.masked).toBe(
      'date,os-se,app_version-version_appli,count-nombre\n2021-03-01,android,"1.2,3",<20\n2021-03-01,ios,\'=cmd,20\n',
    );
  });

  test('a file without rows is its header line', () => {
    // Prepare / Act
    const rendered = renderReport(reportNamed('otk_pt_dp'), []);

    // Assess
    expect(rendered).toEqual({
      unmasked: 'date,region,date_provided-date_fournie,count-nombre\n',
      masked: 'date,region,date_provided-date_fournie,count-nombre\n',
      rows: 0,
    });
  });
});
