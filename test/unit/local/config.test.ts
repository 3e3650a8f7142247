import { mkdtempSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../local/config';

const tempDir = () => mkdtempSync(join(tmpdir(), 'config-test-'));

describe('loadConfig', () => {
  test('defaults follow the contract table', () => {
    // Act
    const config = loadConfig({ LOCAL_IN_MEMORY: '1' });

    // Assess
    expect(config).toMatchObject({ port: 8000, regionCode: '302', exportRegion: 'CA', exportIntervalSeconds: 60, inMemory: true, dynamodbPort: 0, s3Port: 0 });
    expect(config.dataDir).toBeUndefined();
  });

  test('reports every problem at once', () => {
    // Act
    const load = () =>
      loadConfig({ LOCAL_IN_MEMORY: '1', PORT: 'eighty', KEY_CLAIM_TOKEN: 'short=302', RETRIEVE_HMAC_KEY: 'zz', ECDSA_KEY: 'nope', REGION_CODE: 'CA' });

    // Assess
    expect(load).toThrow(ConfigError);
    const problems = (() => {
      try {
        load();
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      ['ECDSA_KEY', 'KEY_CLAIM_TOKEN entry 1', 'PORT', 'REGION_CODE', 'RETRIEVE_HMAC_KEY'].sort(),
    );
  });

  test('generates missing secrets, stores them with mode 0600 and reuses them on the next start', () => {
    // Prepare
    const cwd = tempDir();

    // Act
    const first = loadConfig({}, cwd);
    const second = loadConfig({}, cwd);

    // Assess
    const file = join(cwd, '.local', 'secrets.json');
    expect(first.generated).toEqual(['KEY_CLAIM_TOKEN', 'RETRIEVE_HMAC_KEY', 'ECDSA_KEY', 'METRICS_API_KEY', 'SUBMISSION_HMAC_KEY']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(second.generated).toEqual([]);
    expect(second.keyClaimTokens).toEqual(first.keyClaimTokens);
    expect(second.retrieveHmacKeyHex).toBe(first.retrieveHmacKeyHex);
    expect(second.signingKey.publicKeyPem).toBe(first.signingKey.publicKeyPem);
    expect(JSON.parse(readFileSync(file, 'utf8')).METRICS_API_KEY).toBe(first.metricsApiKey);
  });

  test('environment values win over stored ones; LOCAL_IN_MEMORY writes nothing', () => {
    // Prepare
    const cwd = tempDir();

    // Act
    const config = loadConfig({ LOCAL_IN_MEMORY: '1', RETRIEVE_HMAC_KEY: 'A'.repeat(64) }, cwd);

    // Assess
    expect(config.retrieveHmacKeyHex).toBe('a'.repeat(64));
    expect(existsSync(join(cwd, '.local'))).toBe(false);
  });

  test('LOCAL_DATA_DIR moves the persisted state', () => {
    // Prepare
    const cwd = tempDir();

    // Act
    const config = loadConfig({ LOCAL_DATA_DIR: 'state' }, cwd);

    // Assess
    expect(config.dataDir).toBe(join(cwd, 'state'));
    expect(existsSync(join(cwd, 'state', 'secrets.json'))).toBe(true);
  });
});
