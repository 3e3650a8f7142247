/**
 * The 17-part aggregate key and the attributes of reference §3 (upstream order, `*`/`false`
 * rules, defaults), and the ledger identity of a payload item (METRICS.md rule 2).
 */
import {
  attributeValue,
  buildAggregate,
  deviceValue,
  itemIdentity,
  keyPart,
  METRIC_VERSION,
} from '../../../lambdas/domain/metrics/aggregate-key';
import { parseEnvelope, type MetricsEnvelope, type PayloadItem } from '../../../lambdas/domain/metrics/envelope';
import { envelope, ITEM_TS, payloadItem, text, type Json } from './builders';

function parsed(value: Json): MetricsEnvelope {
  const result = parseEnvelope(text(value));
  if (!result.ok) throw new Error(`test envelope invalid: ${result.reason}`);
  return result.envelope;
}
const first = (env: MetricsEnvelope): PayloadItem => env.payload[0];
const aggregateOf = (value: Json) => {
  const env = parsed(value);
  return buildAggregate(env, first(env));
};
const parts = (sk: string) => sk.split('#');

describe('aggregate key (pk, 17-part sk)', () => {
  test('the example of reference §3: exposed on Android, isUserExposed "false"', () => {
    // Prepare
    const value = envelope([payloadItem('exposed', { isUserExposed: 'false' })]);

    // Act
    const { key } = aggregateOf(value);

    // Assess
    expect(key).toEqual({ pk: 'ON', sk: 'ON#exposed#2022-04-15#android#30#1.5.4#google#Pixel 4a#11#*#*#*#*#*#*#*#false' });
    expect(parts(key.sk)).toHaveLength(17);
  });

  test('every keyed event field lands in its upstream position, count and duration bucketed', () => {
    // Prepare
    const item = payloadItem('background-check', {
      pushnotification: 'granted',
      frameworkenabled: 'true',
      state: 'on',
      hoursSinceExposureDetectedAt: '-12',
      count: '14',
      durationInSeconds: '75.5',
      withDate: 'true',
      isUserExposed: 'proximity,outbreak',
      status: 'success',
      utcDay: '1649894400000',
      unknownField: 'ignored',
    });

    // Act
    const { key, attributes } = aggregateOf(envelope([item]));

    // Assess
    expect(parts(key.sk)).toEqual([
      'ON',
      'background-check',
      '2022-04-15',
      'android',
      '30',
      '1.5.4',
      'google',
      'Pixel 4a',
      '11',
      'granted',
      'true',
      'on',
      '-12',
      '13-30',
      '1:00 min - 1:59 min',
      'true',
      'proximity,outbreak',
    ]);
    expect(attributes).toEqual({
      identifier: 'background-check',
      date: '2022-04-15',
      region: 'ON',
      appos: 'android',
      osversion: '30',
      appversion: '1.5.4',
      manufacturer: 'google',
      model: 'Pixel 4a',
      androidreleaseversion: '11',
      pushnotification: 'granted',
      frameworkenabled: 'true',
      state: 'on',
      status: 'success',
      hoursSinceExposureDetectedAt: '-12',
      count: '13-30',
      duration: '1:00 min - 1:59 min',
      withDate: 'true',
      isUserExposed: 'proximity,outbreak',
      version: METRIC_VERSION,
    });
  });

  test('status is stored but is not part of the key (upstream)', () => {
    // Prepare
    const success = envelope([payloadItem('background-process', { status: 'success', durationInSeconds: '12' })]);
    const fail = envelope([payloadItem('background-process', { status: 'fail', durationInSeconds: '12' })]);

    // Act
    const [a, b] = [aggregateOf(success), aggregateOf(fail)];

    // Assess
    expect(a.key).toEqual(b.key);
    expect([a.attributes.status, b.attributes.status]).toEqual(['success', 'fail']);
  });

  test('defaults: region "" → None; missing device fields → "" in attributes, osversion an empty part, the others *', () => {
    // Prepare
    const value = { metricstimestamp: 1, appversion: '1.0.0', appos: 'ios', payload: [{ identifier: 'active-user', region: '', timestamp: 0 }] };

    // Act
    const { key, attributes } = aggregateOf(value);

    // Assess
    expect(key).toEqual({ pk: 'None', sk: 'None#active-user#1970-01-01#ios##1.0.0#*#*#*#*#*#*#*#*#*#*#*' });
    expect(attributes).toMatchObject({ region: 'None', osversion: '', manufacturer: '', model: '', androidreleaseversion: '', count: '', duration: '', status: '' });
  });

  test('a numeric osversion (Android native SDK_INT) reads like the string', () => {
    // Prepare
    const numeric = envelope([payloadItem('active-user')], { osversion: 30 });
    const textual = envelope([payloadItem('active-user')], { osversion: '30' });

    // Act / Assess
    expect(aggregateOf(numeric).key).toEqual(aggregateOf(textual).key);
  });

  test('the iOS native casing androidReleaseVersion is read as androidreleaseversion', () => {
    // Prepare
    const ios = { metricstimestamp: 1, appversion: '1.5.4', appos: 'ios', osversion: '14.4', manufacturer: 'Apple', model: 'unavailable', androidReleaseVersion: 'unavailable', payload: [payloadItem('active-user')] };

    // Act
    const { key, attributes } = aggregateOf(ios);

    // Assess
    expect(parts(key.sk)[8]).toBe('unavailable');
    expect(attributes.androidreleaseversion).toBe('unavailable');
  });
});

describe('the * and false rules (upstream p())', () => {
  test.each([
    ['', '*'],
    [undefined, '*'],
    [null, '*'],
    [0, '*'],
    [false, 'false'],
    ['false', 'false'],
    [true, 'true'],
    ['0', '0'],
    [12, '12'],
  ])('key part of %p is %p', (value, part) => {
    // Act / Assess
    expect(keyPart(value)).toBe(part);
  });

  test('a boolean false event field stays false in the key; "" and absent ones become *', () => {
    // Prepare
    const value = envelope([payloadItem('onboarded', { pushnotification: '', frameworkenabled: false })]);

    // Act
    const { key, attributes } = aggregateOf(value);

    // Assess
    expect(parts(key.sk).slice(9)).toEqual(['*', 'false', '*', '*', '*', '*', '*', '*']);
    expect(attributes.frameworkenabled).toBe('false');
    expect(attributes.pushnotification).toBe('');
  });

  test('device fields default to "" when absent or falsy; attributes are "" only when absent', () => {
    // Act / Assess
    expect([undefined, '', 0, false, 'x', 30].map(deviceValue)).toEqual(['', '', '', '', 'x', '30']);
    expect([undefined, null, '', false, 0, 'x'].map(attributeValue)).toEqual(['', '', '', 'false', '0', 'x']);
  });

  test('a bucketed count of 0 is the label "0", not *', () => {
    // Prepare
    const value = envelope([payloadItem('background-check', { count: '0' })]);

    // Act
    const { key } = aggregateOf(value);

    // Assess
    expect(parts(key.sk)[13]).toBe('0');
  });
});

describe('item identity (ledger)', () => {
  const base = envelope([payloadItem('exposed', { isUserExposed: 'false' })]);

  test('does not depend on metricstimestamp (a re-sent envelope) nor on field order', () => {
    // Prepare
    const resent = { ...base, metricstimestamp: 1_650_000_999_999 };
    const reordered = envelope([{ isUserExposed: 'false', timestamp: ITEM_TS, region: 'ON', identifier: 'exposed' }]);

    // Act
    const ids = [base, resent, reordered].map((v) => {
      const env = parsed(v);
      return itemIdentity(env, first(env));
    });

    // Assess
    expect(ids[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(ids).size).toBe(1);
  });

  test.each([
    ['timestamp', { payload: [payloadItem('exposed', { isUserExposed: 'false', timestamp: ITEM_TS + 1 })] }],
    ['an event field', { payload: [payloadItem('exposed', { isUserExposed: 'true' })] }],
    ['the region', { payload: [payloadItem('exposed', { isUserExposed: 'false', region: 'QC' })] }],
    ['the identifier', { payload: [payloadItem('exposed-clear', { isUserExposed: 'false' })] }],
    ['appversion', { appversion: '1.5.5' }],
    ['osversion', { osversion: '31' }],
    ['model', { model: 'Pixel 5' }],
    ['manufacturer', { manufacturer: 'Google' }],
    ['androidreleaseversion', { androidreleaseversion: '12' }],
    ['appos', { appos: 'ios' }],
  ])('changes with %s', (_what, change) => {
    // Prepare
    const a = parsed(base);
    const b = parsed({ ...base, ...change });

    // Act / Assess
    expect(itemIdentity(b, first(b))).not.toBe(itemIdentity(a, first(a)));
  });
});
