import type { Template } from 'aws-cdk-lib/assertions';
import { API_STAGE_NAME } from '../../lib/constructs/api';
import { notFound } from '../../lambdas/shared/http';
import {
  actionsOf,
  logicalIdAt,
  resourceAt,
  statementsOfRole,
  synthKeyServer,
  type SynthesizedKeyServer,
} from './support/infra-app';

const SERVICES_FUNCTION = 'Api/ServicesFunction/Function/Resource';
const SERVICES_ROLE = 'Api/ServicesFunction/Role/Resource';
const STAGE = `Api/RestApi/DeploymentStage.${API_STAGE_NAME}/Resource`;

describe('api', () => {
  let synth: SynthesizedKeyServer;
  let template: Template;

  beforeAll(() => {
    synth = synthKeyServer();
    template = synth.template;
  });

  it('passes every request body through as binary (binaryMediaTypes */*)', () => {
    // Act
    const restApi = resourceAt(template, 'Api/RestApi/Resource');

    // Assess
    expect(restApi.Properties.BinaryMediaTypes).toEqual(['*/*']);
    expect(restApi.Properties.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
  });

  it('throttles the stage with the stage config and logs executions at ERROR without bodies', () => {
    // Prepare
    const { rateLimit, burstLimit } = synth.stack.config.apiThrottle;

    // Act
    const stage = resourceAt(template, STAGE);

    // Assess
    expect(stage.Properties.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        ThrottlingRateLimit: rateLimit,
        ThrottlingBurstLimit: burstLimit,
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
      }),
    ]);
  });

  it('writes access logs without client addresses, user agents or concrete paths', () => {
    // Act
    const stage = resourceAt(template, STAGE);
    const setting = stage.Properties.AccessLogSetting as { Format: string; DestinationArn: unknown };

    // Assess
    expect(setting.Format).not.toContain('sourceIp');
    expect(setting.Format).not.toContain('$context.identity');
    expect(setting.Format).not.toContain('$context.path');
    expect(JSON.parse(setting.Format)).toMatchObject({
      requestId: '$context.requestId',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
    });
    expect(JSON.stringify(setting.DestinationArn)).toContain(logicalIdAt(template, 'Api/AccessLogs/Resource'));
  });

  it('keeps access and execution logs no longer than the stage log retention (≤ 14 days)', () => {
    // Prepare
    const days = synth.stack.config.logRetentionDays;

    // Act
    const accessLogs = resourceAt(template, 'Api/AccessLogs/Resource');
    const executionLogs = resourceAt(template, 'Api/ExecutionLogs/Resource');

    // Assess
    expect(days).toBeLessThanOrEqual(14);
    expect(accessLogs.Properties.RetentionInDays).toBe(days);
    expect(executionLogs.Properties.RetentionInDays).toBe(days);
    expect(executionLogs.Properties.LogGroupName).toEqual({
      'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: logicalIdAt(template, 'Api/RestApi/Resource') }, `/${API_STAGE_NAME}`]],
    });
  });

  it.each(['ping', 'present'])('routes ANY /services/%s to the services function (Lambda proxy)', (name) => {
    // Prepare
    const functionId = logicalIdAt(template, SERVICES_FUNCTION);

    // Act
    const method = resourceAt(template, `Api/RestApi/Default/services/${name}/ANY/Resource`);

    // Assess
    expect(method.Properties.HttpMethod).toBe('ANY');
    expect(method.Properties.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
    expect(JSON.stringify(method.Properties.Integration)).toContain(functionId);
  });

  it('runs the services function on Node.js 22, arm64, handler `handler`, its own log group ≤ 14 days', () => {
    // Act
    const fn = resourceAt(template, SERVICES_FUNCTION);
    const logGroup = resourceAt(template, 'Api/ServicesFunction/LogGroup/Resource');

    // Assess
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logicalIdAt(template, 'Api/ServicesFunction/LogGroup/Resource') } });
    expect(logGroup.Properties.RetentionInDays).toBeLessThanOrEqual(14);
    expect(fn.Properties.TracingConfig).toBeUndefined();
  });

  it('configures Powertools for the services function from the environment', () => {
    // Act
    const fn = resourceAt(template, SERVICES_FUNCTION);

    // Assess
    expect((fn.Properties.Environment as { Variables: Record<string, string> }).Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'services',
      POWERTOOLS_METRICS_NAMESPACE: `KeyServer/${synth.stack.config.stageName}`,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_LOGGER_LOG_EVENT: 'false',
    });
  });

  it('gives the services function no data access: only writes to its own log group', () => {
    // Prepare
    const roleId = logicalIdAt(template, SERVICES_ROLE);
    const logGroupId = logicalIdAt(template, 'Api/ServicesFunction/LogGroup/Resource');

    // Act
    const role = resourceAt(template, SERVICES_ROLE);
    const statements = statementsOfRole(template, roleId);

    // Assess
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    expect(statements.flatMap(actionsOf).filter((a) => /^(dynamodb|s3|kms):/.test(a))).toEqual([]);
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      }),
    ]);
  });

  it('lets only API Gateway invoke the services function, from this API', () => {
    // Prepare
    const functionId = logicalIdAt(template, SERVICES_FUNCTION);
    const restApiId = logicalIdAt(template, 'Api/RestApi/Resource');

    // Act
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (p) => JSON.stringify(p.Properties.FunctionName).includes(functionId),
    );

    // Assess
    expect(permissions).toHaveLength(2);
    for (const permission of permissions) {
      expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(permission.Properties.SourceArn)).toContain(restApiId);
      expect(JSON.stringify(permission.Properties.SourceArn)).not.toContain('test-invoke-stage');
    }
  });

  describe('gateway responses', () => {
    const gatewayResponse = (type: string) => {
      const found = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')).filter(
        (r) => r.Properties.ResponseType === type,
      );
      expect(found).toHaveLength(1);
      return found[0].Properties as Record<string, unknown>;
    };

    it.each(['MISSING_AUTHENTICATION_TOKEN', 'RESOURCE_NOT_FOUND'])(
      'answers %s (unknown path or method) 404 `404 page not found\\n` in text/plain, as upstream',
      (type) => {
        // Act
        const response = gatewayResponse(type);

        // Assess
        expect(response.StatusCode).toBe('404');
        expect(response.ResponseParameters).toEqual({
          'gatewayresponse.header.Content-Type': "'text/plain; charset=utf-8'",
          'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
        });
        // The one template is API Gateway's fallback for every request content type.
        expect(response.ResponseTemplates).toEqual({ 'application/json': '404 page not found\n' });
        expect(response.RestApiId).toEqual({ Ref: logicalIdAt(template, 'Api/RestApi/Resource') });
      },
    );

    it('answers an unknown path exactly as a handler answers 404 (body and headers)', () => {
      // Prepare
      const handler404 = notFound();

      // Act
      const response = gatewayResponse('MISSING_AUTHENTICATION_TOKEN');

      // Assess
      expect((response.ResponseTemplates as Record<string, string>)['application/json']).toBe(handler404.body);
      expect(response.ResponseParameters).toEqual(
        Object.fromEntries(Object.entries(handler404.headers ?? {}).map(([name, value]) => [`gatewayresponse.header.${name}`, `'${value}'`])),
      );
    });

    it('keeps a missing or unknown API key (INVALID_API_KEY) a 403 `{"message":"Forbidden"}` in JSON', () => {
      // Act
      const response = gatewayResponse('INVALID_API_KEY');

      // Assess
      expect(response.StatusCode).toBe('403');
      expect(response.ResponseParameters).toMatchObject({ 'gatewayresponse.header.Content-Type': "'application/json'" });
      expect(JSON.parse((response.ResponseTemplates as Record<string, string>)['application/json'])).toEqual({ message: 'Forbidden' });
    });

    it('customises no other response type (WAF blocks, throttling and quota keep API Gateway\'s answers)', () => {
      // Act
      const types = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')).map((r) => r.Properties.ResponseType);

      // Assess
      expect(types.sort()).toEqual(['INVALID_API_KEY', 'MISSING_AUTHENTICATION_TOKEN', 'RESOURCE_NOT_FOUND']);
    });

    it('redeploys the stage when a gateway response changes (the deployment depends on each)', () => {
      // Prepare
      const ids = Object.keys(template.findResources('AWS::ApiGateway::GatewayResponse'));

      // Act
      const deployments = Object.values(template.findResources('AWS::ApiGateway::Deployment'));

      // Assess
      expect(deployments).toHaveLength(1);
      expect(deployments[0].DependsOn).toEqual(expect.arrayContaining(ids));
    });
  });

  it('publishes detailed (per route and method) CloudWatch metrics for the dashboard', () => {
    // Act
    const stage = resourceAt(template, STAGE);

    // Assess
    expect(stage.Properties.MethodSettings).toEqual([expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', MetricsEnabled: true })]);
  });
});
