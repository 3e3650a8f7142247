/**
 * Builders for the infra tests. Apps get the feature flags and stages of the real cdk.json, so
 * tests see what `cdk synth` sees; bundling is skipped unless a test asks for it (the first
 * synth of a file costs seconds: synthesize once per file, in beforeAll).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseStageConfig, type StageConfig } from '../../../lib/config';
import { buildKeyServerApp } from '../../../lib/key-server-app';
import type { KeyServerStack } from '../../../lib/key-server-stack';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

type Json = Record<string, unknown>;

/** The `context` object of cdk.json (feature flags, `stage`, `stages`). */
export function cdkJsonContext(): Json {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Json };
  return cdkJson.context;
}

/** A raw (unvalidated) stage entry: the dev stage of cdk.json with `overrides` applied. */
export function aRawStage(overrides: Json = {}): Json {
  const stages = cdkJsonContext().stages as Record<string, Json>;
  return { ...stages.dev, ...overrides };
}

/** A validated stage config: the dev stage of cdk.json with `overrides` applied. */
export function aStageConfig(overrides: Partial<StageConfig> = {}): StageConfig {
  return parseStageConfig('dev', aRawStage(overrides as Json));
}

export interface InfraAppOptions {
  /** Run the real esbuild bundling (slow); default false. */
  readonly bundling?: boolean;
  readonly outdir?: string;
  /** Extra context, e.g. `{ stage: 'prod' }`. */
  readonly context?: Json;
}

export function newInfraApp(options: InfraAppOptions = {}): App {
  return new App({
    outdir: options.outdir,
    context: {
      ...cdkJsonContext(),
      // As the CLI does: resources carry their construct path, which the tests locate them by.
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
      ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

export interface SynthesizedKeyServer {
  readonly app: App;
  readonly stack: KeyServerStack;
  readonly template: Template;
}

/** The app exactly as bin/app.ts builds it (stage config, stack, cdk-nag), synthesized. */
export function synthKeyServer(options: InfraAppOptions = {}): SynthesizedKeyServer {
  const app = newInfraApp(options);
  const stack = buildKeyServerApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

/** Logical id of the CloudFormation resource at `<stack>/<pathSuffix>` (e.g. `Storage/ExportsBucket/Resource`). */
export function logicalIdAt(template: Template, pathSuffix: string): string {
  const resources = template.toJSON().Resources as Record<string, { Metadata?: Record<string, string> }>;
  const matches = Object.entries(resources).filter(([, r]) => r.Metadata?.['aws:cdk:path']?.endsWith(`/${pathSuffix}`));
  if (matches.length !== 1) {
    throw new Error(`expected one resource at */${pathSuffix}, found ${matches.length}`);
  }
  return matches[0][0];
}

/** The resource (Type, Properties, …) at `<stack>/<pathSuffix>`. */
export function resourceAt(template: Template, pathSuffix: string): { Type: string; Properties: Json; [k: string]: unknown } {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  return resources[logicalIdAt(template, pathSuffix)];
}

export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every statement of every inline/attached customer policy of the role with logical id `roleId`. */
export function statementsOfRole(template: Template, roleId: string): PolicyStatementJson[] {
  const policies = template.findResources('AWS::IAM::Policy') as Record<
    string,
    { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: PolicyStatementJson[] } } }
  >;
  return Object.values(policies)
    .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

export const actionsOf = (s: PolicyStatementJson): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
