#!/usr/bin/env node
/**
 * CDK app entry (`cdk.json`: `npx tsx bin/app.ts`). Select a stage with `-c stage=NAME`
 * (default: the `stage` context in cdk.json). Synth works offline: no credentials, no Docker.
 */
import { App } from 'aws-cdk-lib';
import { buildKeyServerApp } from '../lib/key-server-app';

buildKeyServerApp(new App());
