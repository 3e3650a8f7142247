/**
 * `npm start`: runs the whole system locally. Ctrl-C / SIGTERM stops everything it started.
 */
import { ConfigError, formatKeyClaimTokens, loadConfig } from './config';
import { JavaMissingError } from './embedded-dynamodb';
import { startRuntime, type Runtime } from './runtime';

const log = {
  info: (message: string, detail?: Record<string, unknown>) =>
    console.log(`[local] ${message}${detail ? ` ${JSON.stringify(detail)}` : ''}`),
  error: (message: string, detail?: Record<string, unknown>) =>
    console.error(`[local] ${message}${detail ? ` ${JSON.stringify(detail)}` : ''}`),
};

async function main(): Promise<void> {
  const t0 = Date.now();
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`[local] ${error.message}`);
      process.exit(2);
    }
    throw error;
  }

  let stopping = false;
  // A signal during start-up waits for the parts already starting, then stops them all.
  const starting = startRuntime(config, log);
  const stop = async (signal: string) => {
    if (stopping) {
      log.error(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    log.info(`${signal}: stopping`);
    const runtime = await starting.catch(() => undefined);
    await runtime?.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  let runtime: Runtime;
  try {
    runtime = await starting;
  } catch (error) {
    if (error instanceof JavaMissingError) {
      console.error(`[local] ${error.message}`);
      process.exit(3);
    }
    console.error(`[local] start-up failed: ${(error as Error).message}`);
    process.exit(1);
  }
  if (stopping) return;

  const info = runtime.info();
  console.log(
    [
      '',
      `  COVID Alert key server (local) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      `  URL                 ${info.url}   (try: curl ${info.url}/services/ping)`,
      `  KEY_CLAIM_TOKEN     ${formatKeyClaimTokens(config.keyClaimTokens)}`,
      `  RETRIEVE_HMAC_KEY   ${info.retrieveHmacKey}`,
      `  METRICS_API_KEY     ${info.metricsApiKey}`,
      `  ECDSA_KEY           ${config.ecdsaKeyHex}`,
      `  DynamoDB Local      ${info.dynamodb.endpoint}`,
      `  S3 server           ${info.s3.endpoint}`,
      `  data                ${info.storage.inMemory ? 'in memory (LOCAL_IN_MEMORY=1)' : info.storage.dataDir}`,
      config.generated.length ? `  generated now       ${config.generated.join(', ')}` : '',
      '  export signing public key:',
      ...info.exportSigningPublicKeyPem.trim().split('\n').map((l) => `    ${l}`),
      `  more: curl ${info.url}/_local/info     stop: Ctrl-C`,
      '',
    ]
      .filter((line) => line !== '')
      .join('\n'),
  );
}

void main();
