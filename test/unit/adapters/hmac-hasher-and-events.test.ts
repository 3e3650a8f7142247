import type { Metrics } from '@aws-lambda-powertools/metrics';
import { HmacHasher } from '../../../lambdas/adapters/hmac-hasher';
import { MetricEvents } from '../../../lambdas/adapters/metric-events';

describe('HmacHasher', () => {
  const key = Buffer.alloc(32, 1);

  test('is keyed, deterministic and separated by purpose; the output never contains the input', () => {
    // Prepare
    const hasher = new HmacHasher(key);

    // Act
    const digests = {
      code: hasher.digest('code', 'AEF245XYZW'),
      again: hasher.digest('code', 'AEF245XYZW'),
      ip: hasher.digest('ip', 'AEF245XYZW'),
      otherKey: new HmacHasher(Buffer.alloc(32, 2)).digest('code', 'AEF245XYZW'),
    };

    // Assess
    expect(digests.code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(digests.again).toBe(digests.code);
    expect(digests.ip).not.toBe(digests.code);
    expect(digests.otherKey).not.toBe(digests.code);
    expect(digests.code).not.toContain('AEF245XYZW');
  });

  test('refuses a key shorter than 32 bytes', () => {
    // Act / Assess
    expect(() => new HmacHasher(Buffer.alloc(31))).toThrow(/at least 32 bytes/);
  });
});

describe('MetricEvents', () => {
  function fakeMetrics() {
    const emitted: Array<{ dimensions: Record<string, string>; name: string; unit: string; value: number }> = [];
    const metrics = {
      singleMetric: () => {
        const dimensions: Record<string, string> = {};
        return {
          addDimension: (name: string, value: string) => void (dimensions[name] = value),
          addMetric: (name: string, unit: string, value: number) => void emitted.push({ dimensions: { ...dimensions }, name, unit, value }),
        };
      },
    } as unknown as Metrics;
    return { metrics, emitted };
  }

  test('emits one count metric per event with the Source dimension; an empty source is "unknown"', () => {
    // Prepare
    const { metrics, emitted } = fakeMetrics();
    const events = new MetricEvents(metrics);

    // Act
    events.record('KeysStored', 3, 'ON');
    events.record('ClaimFailed', 1, '');

    // Assess
    expect(emitted).toEqual([
      { dimensions: { Source: 'ON' }, name: 'KeysStored', unit: 'Count', value: 3 },
      { dimensions: { Source: 'unknown' }, name: 'ClaimFailed', unit: 'Count', value: 1 },
    ]);
  });
});
