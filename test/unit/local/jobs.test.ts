import { JobRegistry, UnknownJobError } from '../../../local/jobs';
import { OffsetClock } from '../../../local/clock';

describe('JobRegistry', () => {
  test('runs a registered job and returns its result', async () => {
    // Prepare
    const jobs = new JobRegistry({ error: jest.fn() });
    jobs.register({ name: 'count', description: 'test', run: async () => ({ done: 1 }) });

    // Act + Assess
    await expect(jobs.run('count')).resolves.toEqual({ done: 1 });
  });

  test('unknown jobs reject with the list of known ones', async () => {
    // Prepare
    const jobs = new JobRegistry({ error: jest.fn() });
    jobs.register({ name: 'a', description: 'test', run: async () => undefined });

    // Act + Assess
    await expect(jobs.run('b')).rejects.toEqual(new UnknownJobError('b', ['a']));
  });

  test('runs of one job never overlap', async () => {
    // Prepare
    const jobs = new JobRegistry({ error: jest.fn() });
    let active = 0;
    let maxActive = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    jobs.register({
      name: 'slow',
      description: 'test',
      run: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await gate;
        active -= 1;
      },
    });

    // Act
    const runs = [jobs.run('slow'), jobs.run('slow'), jobs.run('slow')];
    release();
    await Promise.all(runs);

    // Assess
    expect(maxActive).toBe(1);
  });

  test('a failed run does not block the next one', async () => {
    // Prepare
    const jobs = new JobRegistry({ error: jest.fn() });
    let calls = 0;
    jobs.register({
      name: 'flaky',
      description: 'test',
      run: async () => {
        calls += 1;
        if (calls === 1) throw new Error('first fails');
        return calls;
      },
    });

    // Act + Assess
    await expect(jobs.run('flaky')).rejects.toThrow('first fails');
    await expect(jobs.run('flaky')).resolves.toBe(2);
  });

  test('registering a name twice is a programming error', () => {
    const jobs = new JobRegistry({ error: jest.fn() });
    jobs.register({ name: 'x', description: 'test', run: async () => undefined });
    expect(() => jobs.register({ name: 'x', description: 'test', run: async () => undefined })).toThrow('registered twice');
  });
});

describe('OffsetClock', () => {
  test('the offset is absolute, not cumulative', () => {
    // Prepare
    const clock = new OffsetClock(() => 1_000_000);

    // Act
    clock.setOffsetSeconds(60);
    clock.setOffsetSeconds(30);

    // Assess
    expect(clock.nowMs()).toBe(1_030_000);
    expect(clock.offsetSeconds).toBe(30);
  });
});
