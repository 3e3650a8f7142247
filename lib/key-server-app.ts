/**
 * Builds the key server into a CDK App: validated stage config, the stack, tags and the
 * cdk-nag AwsSolutions checks. bin/app.ts calls it; the infra tests call it too, so they check
 * exactly what `cdk synth` builds.
 */
import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stageConfigFromContext, type StageConfig } from './config';
import { KeyServerStack } from './key-server-stack';

export const stackName = (config: StageConfig): string => `KeyServer-${config.stageName}`;

export function buildKeyServerApp(app: App): KeyServerStack {
  const config = stageConfigFromContext(app.node);
  const stack = new KeyServerStack(app, stackName(config), {
    config,
    description: `COVID Alert compatible exposure-notification key server (${config.stageName})`,
    ...((config.account || config.region) && { env: { account: config.account, region: config.region } }),
  });
  Tags.of(stack).add('app', 'en-key-server');
  Tags.of(stack).add('stage', config.stageName);

  // cdk-nag 3: a policy-validation plugin; any unacknowledged finding makes synth fail.
  // Acknowledgements live next to the resources they concern (Validations.of(x).acknowledge).
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
