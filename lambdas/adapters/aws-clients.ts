/**
 * The one place that builds AWS SDK clients. In AWS no options are needed; the local runtime and
 * the integration tests pass endpoints of the embedded DynamoDB Local and S3 server.
 *
 * S3: `forcePathStyle` is required for localhost endpoints, and checksums are computed/validated
 * only when an operation requires them. Without that, SDK v3 sends streamed bodies with
 * `aws-chunked` framing, which s3rver stores verbatim inside the object (silent corruption, see
 * the regression test in test/integration/s3-server.test.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { KMSClient } from '@aws-sdk/client-kms';

export interface EndpointOptions {
  /** Service endpoint URL; undefined means the AWS default for the Lambda's region. */
  readonly endpoint?: string;
  /** Static credentials for local servers; undefined means the default provider chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly region?: string;
}

const common = (options: EndpointOptions) => ({
  ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
  ...(options.region ? { region: options.region } : {}),
  maxAttempts: 3,
});

export function dynamoDbClient(options: EndpointOptions = {}): DynamoDBClient {
  return new DynamoDBClient(common(options));
}

/** Document client: plain JS values in and out; Uint8Array/Buffer map to binary attributes. */
export function documentClient(options: EndpointOptions = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamoDbClient(options), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function dynamoDbStreamsClient(options: EndpointOptions = {}): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient(common(options));
}

export function s3Client(options: EndpointOptions = {}): S3Client {
  return new S3Client({
    ...common(options),
    forcePathStyle: Boolean(options.endpoint),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** KMS, for export signing (build-exports); never used by the local runtime. */
export function kmsClient(options: EndpointOptions = {}): KMSClient {
  return new KMSClient(common(options));
}
