/**
 * Reading the Lambda environment, once per cold start. Secrets come from AWS Secrets Manager
 * when SECRETS_ARN names a JSON secret (the CDK stack sets it); otherwise from plain variables
 * (tests, tools). Every problem is reported at once.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export class ConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigurationError';
  }
}

/** Values of the named variables; throws one ConfigurationError naming every missing one. */
export function requireEnv<const N extends string>(names: readonly N[], env = process.env): Record<N, string> {
  const missing = names.filter((n) => !env[n]);
  if (missing.length) throw new ConfigurationError(missing.map((n) => `${n} is not set`));
  return Object.fromEntries(names.map((n) => [n, env[n] as string])) as Record<N, string>;
}

/** The named secrets, from the JSON secret at SECRETS_ARN or from the environment. */
export async function loadSecrets<const N extends string>(names: readonly N[], env = process.env): Promise<Record<N, string>> {
  if (!env.SECRETS_ARN) return requireEnv(names, env);
  const client = new SecretsManagerClient({});
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: env.SECRETS_ARN }));
    const values = JSON.parse(out.SecretString ?? '{}') as Record<string, unknown>;
    return requireEnv(names, Object.fromEntries(names.map((n) => [n, typeof values[n] === 'string' ? values[n] : undefined])));
  } finally {
    client.destroy();
  }
}

/** Memoises an async factory; a failed attempt is retried on the next call. */
export function lazy<T>(factory: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= factory().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
