import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { buildKeyServerApp } from '../../lib/key-server-app';
import { newInfraApp } from './support/infra-app';

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgement recorded with Validations.of(x).acknowledge in the construct tree. */
function acknowledgementsUnder(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          // aws-cdk-lib records rule ids without a plugin prefix as `Annotation::<id>`.
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  it('synthesizes the app with zero unacknowledged findings, each acknowledgement with a written reason', () => {
    // Prepare
    const app = newInfraApp();
    const stack = buildKeyServerApp(app);

    // Act
    const act = () => app.synth();

    // Assess
    expect(act).not.toThrow();
    const acknowledgements = acknowledgementsUnder(app);
    // The reviewed list: a new acknowledgement is a decision, so it changes this test too.
    expect(acknowledgements.map((a) => `${a.path.replace(/^[^/]+\//, '')} ${a.id}`).sort()).toEqual([
      'Api/RestApi AwsSolutions-APIG2',
      'Api/RestApi AwsSolutions-APIG4',
      'Api/RestApi AwsSolutions-COG4',
      'Api/RestApi/CloudWatchRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'Api/ServicesFunction/Function AwsSolutions-L1',
      'Cdn/Distribution AwsSolutions-CFR1',
      'Cdn/Distribution AwsSolutions-CFR2',
      'Cdn/Distribution AwsSolutions-CFR3',
      'Cdn/Distribution AwsSolutions-CFR4',
      'Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB AwsSolutions-L1',
      'Exports/BuildExportsFunction AwsSolutions-IAM5[Resource::<StorageExportsBucket1F25C8FC.Arn>/exports/*]',
      'Exports/BuildExportsFunction/Function AwsSolutions-L1',
      'Exports/ExposureConfigurationDeploymentRole AwsSolutions-IAM5[Resource::<StorageExportsBucket1F25C8FC.Arn>/exposure-configuration/*]',
      'Metrics/AggregateFailureQueue AwsSolutions-SQS3',
      'Metrics/AggregateMetricsFunction AwsSolutions-IAM5[Resource::*]',
      'Metrics/AggregateMetricsFunction/Function AwsSolutions-L1',
      'Metrics/MetricsReportFunction AwsSolutions-IAM5[Resource::<StorageReportsBucket2AA89F72.Arn>/masked/*]',
      'Metrics/MetricsReportFunction AwsSolutions-IAM5[Resource::<StorageReportsBucket2AA89F72.Arn>/unmasked/*]',
      'Metrics/MetricsReportFunction/Function AwsSolutions-L1',
      'Metrics/SaveMetricsFunction/Function AwsSolutions-L1',
      'Storage/RawMetricsTable AwsSolutions-DDB3',
      'Submission/ClaimKeyFunction/Function AwsSolutions-L1',
      'Submission/IssueCodeFunction/Function AwsSolutions-L1',
      'Submission/Secrets AwsSolutions-SMG4',
      'Submission/UploadKeysFunction/Function AwsSolutions-L1',
    ]);
    for (const ack of acknowledgements) {
      expect(ack.reason.length).toBeGreaterThanOrEqual(80);
      // Never wholesale: each acknowledgement sits on the construct it concerns.
      expect([app.node.path, stack.node.path]).not.toContain(ack.path);
    }
  });

  it('is wired: a non-compliant resource makes synth fail', () => {
    // Prepare
    const app = newInfraApp();
    const stack = buildKeyServerApp(app);
    new s3.Bucket(stack, 'CarelessBucket');

    // Act
    const act = () => app.synth();

    // Assess
    expect(act).toThrow(/AwsSolutions-S10/);
  });
});
