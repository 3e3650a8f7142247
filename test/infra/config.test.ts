import { isCidr, parseStageConfig, stageConfigFromContext, StageConfigError } from '../../lib/config';
import { aRawStage, cdkJsonContext, newInfraApp } from './support/infra-app';

function problemsOf(fn: () => unknown): readonly string[] {
  // Prepare/Act wrapper: the thrown error must be a StageConfigError; return its problems.
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(StageConfigError);
  return (caught as StageConfigError).problems;
}

describe('stage config', () => {
  it.each(['dev', 'prod'])('accepts the %s stage of cdk.json', (stage) => {
    // Prepare
    const stages = cdkJsonContext().stages as Record<string, unknown>;

    // Act
    const config = parseStageConfig(stage, stages[stage]);

    // Assess
    expect(config).toMatchObject({ stageName: stage, regionCode: '302', exportRegion: 'CA', initialRemainingKeys: 43 });
    expect(config.logRetentionDays).toBeLessThanOrEqual(14);
  });

  it('selects the stage named by the `stage` context', () => {
    // Prepare
    const app = newInfraApp({ context: { stage: 'prod' } });

    // Act
    const config = stageConfigFromContext(app.node);

    // Assess
    expect(config.stageName).toBe('prod');
  });

  it('rejects a bad config with one error listing every problem', () => {
    // Prepare
    const raw = aRawStage({
      stageName: 'Dev Stage',
      regionCode: 302,
      exportRegion: 'ca',
      logRetentionDays: 30,
      pointInTimeRecoveryDays: 35,
      alarmEmail: 'not-an-email',
      newKeyClaimAllowList: ['10.0.0.0/8', '10.0.0.1', '2001:db8::/129'],
      initialRemainingKeys: 0,
      apiThrottle: { rateLimit: -1, burstLimit: 1.5 },
      logRetention: 7,
    });

    // Act
    const problems = problemsOf(() => parseStageConfig('dev', raw));

    // Assess
    expect(problems).toEqual([
      'stages.dev.logRetention: unknown field',
      expect.stringContaining('stages.dev.stageName:'),
      expect.stringContaining('stages.dev.regionCode:'),
      expect.stringContaining('stages.dev.exportRegion:'),
      expect.stringContaining('stages.dev.logRetentionDays: must be one of 1, 3, 5, 7, 14'),
      expect.stringContaining('stages.dev.pointInTimeRecoveryDays: must be an integer 1–6'),
      expect.stringContaining('stages.dev.alarmEmail:'),
      expect.stringContaining('stages.dev.newKeyClaimAllowList[1]:'),
      expect.stringContaining('stages.dev.newKeyClaimAllowList[2]:'),
      expect.stringContaining('stages.dev.initialRemainingKeys:'),
      expect.stringContaining('stages.dev.apiThrottle.rateLimit:'),
      expect.stringContaining('stages.dev.apiThrottle.burstLimit:'),
    ]);
  });

  it('names every problem in the error message', () => {
    // Prepare
    const raw = aRawStage({ logRetentionDays: 90, regionCode: 'CA' });

    // Act
    const act = () => parseStageConfig('dev', raw);

    // Assess
    expect(act).toThrow(/logRetentionDays[\s\S]*regionCode|regionCode[\s\S]*logRetentionDays/);
  });

  it('rejects a stageName that differs from its key', () => {
    // Prepare
    const raw = aRawStage({ stageName: 'prod' });

    // Act
    const problems = problemsOf(() => parseStageConfig('dev', raw));

    // Assess
    expect(problems).toEqual([expect.stringContaining('must equal its key "dev"')]);
  });

  it('rejects a stage that is not in `stages`, naming the known ones', () => {
    // Prepare
    const app = newInfraApp({ context: { stage: 'staging' } });

    // Act
    const problems = problemsOf(() => stageConfigFromContext(app.node));

    // Assess
    expect(problems).toEqual([expect.stringMatching(/no stages\.staging.*known stages: dev, prod/)]);
  });

  it.each([
    ['192.0.2.0/24', true],
    ['0.0.0.0/0', true],
    ['2001:db8::/32', true],
    ['192.0.2.1', false],
    ['192.0.2.0/33', false],
    ['300.0.0.0/8', false],
    ['2001:db8::/129', false],
    ['example.com/24', false],
  ])('isCidr(%s) is %s', (value, expected) => {
    // Act
    const result = isCidr(value);

    // Assess
    expect(result).toBe(expected);
  });
});
