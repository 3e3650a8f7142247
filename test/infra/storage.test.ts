import { Match, type Template } from 'aws-cdk-lib/assertions';
import { BUCKET_LIST, TABLE_LIST, TTL_ATTRIBUTE, type KeyAttribute, type TableDefinition } from '../../lib/definitions';
import { logicalIdAt, resourceAt, synthKeyServer, type SynthesizedKeyServer } from './support/infra-app';

const pascal = (role: string) => role.charAt(0).toUpperCase() + role.slice(1);
const tablePath = (def: { role: string }) => `Storage/${pascal(def.role)}Table/Resource`;
const bucketPath = (def: { role: string }) => `Storage/${pascal(def.role)}Bucket/Resource`;

const keySchema = (pk: KeyAttribute, sk?: KeyAttribute) => [
  { AttributeName: pk.name, KeyType: 'HASH' },
  ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' }] : []),
];

describe('storage', () => {
  let synth: SynthesizedKeyServer;
  let template: Template;
  let dataKeyId: string;

  beforeAll(() => {
    synth = synthKeyServer();
    template = synth.template;
    dataKeyId = logicalIdAt(template, 'Storage/DataKey/Resource');
  });

  describe.each(TABLE_LIST.map((def) => [def.role, def] as [string, TableDefinition]))('table %s', (_role, def) => {
    it('has the key schema and indexes of its definition', () => {
      // Act
      const table = resourceAt(template, tablePath(def));

      // Assess
      expect(table.Properties.KeySchema).toEqual(keySchema(def.partitionKey, def.sortKey));
      const indexes = (table.Properties.GlobalSecondaryIndexes ?? []) as unknown[];
      expect(indexes).toEqual(
        def.indexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: keySchema(index.partitionKey, index.sortKey),
          Projection: { ProjectionType: 'ALL' },
        })),
      );
      const keyAttributes = [def.partitionKey, def.sortKey, ...def.indexes.flatMap((i) => [i.partitionKey, i.sortKey])];
      for (const attribute of keyAttributes.filter((a): a is KeyAttribute => a !== undefined)) {
        expect(table.Properties.AttributeDefinitions).toContainEqual({ AttributeName: attribute.name, AttributeType: attribute.type });
      }
    });

    it(`expires items through the ${TTL_ATTRIBUTE} TTL attribute when its definition has one`, () => {
      // Act
      const table = resourceAt(template, tablePath(def));

      // Assess
      expect(table.Properties.TimeToLiveSpecification).toEqual(
        def.ttlAttribute ? { AttributeName: 'expiresAt', Enabled: true } : undefined,
      );
    });

    it('is on-demand, encrypted with the customer-managed data key and retained', () => {
      // Act
      const table = resourceAt(template, tablePath(def));

      // Assess
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [dataKeyId, 'Arn'] },
      });
      expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    it('has point-in-time recovery as its definition says, within the privacy window', () => {
      // Act
      const table = resourceAt(template, tablePath(def));

      // Assess
      const expected = def.pointInTimeRecovery
        ? { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: synth.stack.config.pointInTimeRecoveryDays }
        : { PointInTimeRecoveryEnabled: false };
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual(expected);
    });
  });

  it('streams NEW_IMAGE from the raw metrics table and from no other table', () => {
    // Act
    const streams = Object.fromEntries(
      TABLE_LIST.map((def) => [def.role, resourceAt(template, tablePath(def)).Properties.StreamSpecification]),
    );

    // Assess
    expect(streams).toEqual({
      submission: undefined,
      diagnosisKeys: undefined,
      rawMetrics: { StreamViewType: 'NEW_IMAGE' },
      aggregateMetrics: undefined,
    });
  });

  it('rotates the customer-managed data key and retains it', () => {
    // Act
    const key = resourceAt(template, 'Storage/DataKey/Resource');

    // Assess
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key).toMatchObject({ DeletionPolicy: 'Retain' });
  });

  describe.each(BUCKET_LIST.map((def) => [def.role, def] as const))('bucket %s', (_role, def) => {
    it('blocks all public access and is KMS-encrypted with the data key, unversioned', () => {
      // Act
      const bucket = resourceAt(template, bucketPath(def));

      // Assess
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [dataKeyId, 'Arn'] } },
          },
        ],
      });
      expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
      expect(bucket).toMatchObject({ DeletionPolicy: 'Retain' });
    });

    it('expires objects as its definition says', () => {
      // Act
      const bucket = resourceAt(template, bucketPath(def));

      // Assess
      const expected =
        def.expirationDays === undefined
          ? undefined
          : { Rules: [expect.objectContaining({ ExpirationInDays: def.expirationDays, Status: 'Enabled' })] };
      expect(bucket.Properties.LifecycleConfiguration).toEqual(expected);
    });

    it('denies every request without TLS', () => {
      // Prepare
      const bucketId = logicalIdAt(template, bucketPath(def));

      // Act / Assess
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('sends server access logs to the access-log bucket under its role prefix', () => {
      // Act
      const bucket = resourceAt(template, bucketPath(def));

      // Assess
      expect(bucket.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: logicalIdAt(template, 'Storage/AccessLogsBucket/Resource') },
        LogFilePrefix: `${def.role}/`,
      });
    });
  });

  it('keeps the exports for 16 days', () => {
    // Act
    const exportsBucket = resourceAt(template, 'Storage/ExportsBucket/Resource');

    // Assess
    expect(exportsBucket.Properties.LifecycleConfiguration).toEqual({
      Rules: [expect.objectContaining({ ExpirationInDays: 16, Status: 'Enabled' })],
    });
  });

  it('keeps access logs (they hold requester addresses) no longer than the log retention, private and TLS-only', () => {
    // Prepare
    const logBucketId = logicalIdAt(template, 'Storage/AccessLogsBucket/Resource');

    // Act
    const logBucket = resourceAt(template, 'Storage/AccessLogsBucket/Resource');

    // Assess
    expect(logBucket.Properties.LifecycleConfiguration).toEqual({
      Rules: [expect.objectContaining({ ExpirationInDays: synth.stack.config.logRetentionDays, Status: 'Enabled' })],
    });
    expect(synth.stack.config.logRetentionDays).toBeLessThanOrEqual(14);
    expect(logBucket.Properties.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicPolicy: true, RestrictPublicBuckets: true });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logBucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});
