// biome-ignore-all lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; the tests are its schema.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBucketSelectors } from '../../src/adapters/notifications.ts';
import { tableDefinitions } from '../../src/adapters/tables.ts';
import { configFromEnv } from '../../src/config.ts';
import { AGENT_RULE_PATTERN, S3_RULE_PATTERN } from '../../src/local/rules.ts';
import { largeConfigFromEnv } from '../../src/sync/large-config.ts';
import { taskConfigFromEnv } from '../../src/tasks/config.ts';
import { manifestKey } from '../../src/tasks/start.ts';
import {
  CI_PARAMS,
  loadTemplate,
  PACKAGE_DIR,
  resourceName,
  SERVICE_DIR,
  type Template,
  templatePresent,
} from './template.ts';

const require = createRequire(import.meta.url);
const params = require('../../deploy/params.cjs') as {
  MAX_BATCH_SIZE: number;
  WORST_RECORD_BYTES: number;
  STATE_INPUT_LIMIT_BYTES: number;
  scheduleExpression(text: string): string;
};

/** Machines deployed from statemachines/*.asl.json: file → logical id, type, function placeholders. */
const STATE_MACHINES = [
  {
    file: 'sync.asl.json',
    id: 'SyncStateMachine',
    type: 'EXPRESS',
    substitutions: {
      PlanFunctionArn: 'PlanLambdaFunction',
      ApplyFunctionArn: 'ApplyLambdaFunction',
      SummarizeFunctionArn: 'SummarizeLambdaFunction',
    },
  },
  {
    file: 'repository-task.asl.json',
    id: 'RepositoryTaskStateMachine',
    type: 'STANDARD',
    substitutions: {
      ListFunctionArn: 'ListLambdaFunction',
      ApplyFunctionArn: 'ApplyLambdaFunction',
      ReportFunctionArn: 'ReportLambdaFunction',
    },
  },
  {
    file: 'large-transfer.asl.json',
    id: 'LargeTransferStateMachine',
    type: 'STANDARD',
    substitutions: { LargeFunctionArn: 'LargeLambdaFunction' },
  },
];

/** The large function's own machine ARN, spelled out (a Ref would be circular), as resourceName reads it. */
const LARGE_MACHINE_SUB = `states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:bucketlink-ci-large-transfer`;

/** Which functions get which task settings (src/tasks/config.ts reads them). */
const TASK_ENV: Record<string, { bucket?: string; machine?: string }> = {
  Control: { machine: 'RepositoryTaskStateMachine' },
  Schedule: { machine: 'RepositoryTaskStateMachine' },
  List: { bucket: 'TasksBucket' },
  Report: { bucket: 'TasksBucket' },
};

const VPC_ENDPOINTS = [
  // [logical id, type, service]
  ['S3GatewayEndpoint', 'Gateway', 's3'],
  ['DynamoDbGatewayEndpoint', 'Gateway', 'dynamodb'],
  ['EventsInterfaceEndpoint', 'Interface', 'events'],
  ['StatesInterfaceEndpoint', 'Interface', 'states'],
] as const;

const TABLES = [
  // [logical id, name as src/adapters/tables.ts knows it, TTL attribute or none]
  ['LedgerTable', 'ledger', 'expiresAt'],
  ['AssociationsTable', 'associations', undefined],
  ['TasksTable', 'tasks', 'expiresAt'],
] as const;

const ALARMS = [
  // [logical id, namespace, metric, dimension, the resource it watches]
  ['DeadLetterAlarm', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', 'DeadLetterQueue'],
  ['FailedExecutionsAlarm', 'AWS/States', 'ExecutionsFailed', 'StateMachineArn', 'SyncStateMachine'],
  ['TimedOutExecutionsAlarm', 'AWS/States', 'ExecutionsTimedOut', 'StateMachineArn', 'SyncStateMachine'],
  ['FailedTasksAlarm', 'AWS/States', 'ExecutionsFailed', 'StateMachineArn', 'RepositoryTaskStateMachine'],
  [
    'FailedLargeTransfersAlarm',
    'AWS/States',
    'ExecutionsFailed',
    'StateMachineArn',
    'LargeTransferStateMachine',
  ],
  ['OldestBufferedEventAlarm', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', 'BufferQueue'],
] as const;

describe.skipIf(!templatePresent)('packaged template', () => {
  const template: Template = templatePresent ? loadTemplate() : { Resources: {}, Outputs: {} };
  const resources = template.Resources;

  it('takes S3 events of exactly the `buckets` parameter, with the pattern local mode matches', () => {
    const rule = resources.S3ChangeRule!.Properties;
    expect(rule.EventBusName).toBe('default');
    expect(rule.EventPattern).toEqual(S3_RULE_PATTERN(parseBucketSelectors(CI_PARAMS.buckets)));
    expect(rule.EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created', 'Object Deleted'],
      detail: { bucket: { name: ['logs', { prefix: 'data-' }] } },
    });
    expect(rule.Targets.map((t: any) => resourceName(t.Arn))).toEqual(['BufferQueue']);
  });

  it('takes agent events on the bucketlink bus, with the pattern local mode matches', () => {
    const rule = resources.AgentChangeRule!.Properties;
    expect(resourceName(rule.EventBusName)).toBe('AgentBus');
    expect(rule.EventPattern).toEqual(AGENT_RULE_PATTERN);
    expect(rule.Targets.map((t: any) => resourceName(t.Arn))).toEqual(['BufferQueue']);
  });

  it('lets only the two rules send to the buffer', () => {
    const [statement, ...more] = resources.BufferQueuePolicy!.Properties.PolicyDocument.Statement;
    expect(more).toEqual([]);
    expect(statement.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(statement.Action).toBe('sqs:SendMessage');
    expect(statement.Condition.ArnEquals['aws:SourceArn'].map(resourceName)).toEqual([
      'S3ChangeRule',
      'AgentChangeRule',
    ]);
  });

  it('buffers in SQS with a visibility timeout above the 5-minute Express limit and a DLQ', () => {
    const queue = resources.BufferQueue!.Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThan(300);
    expect(resourceName(queue.RedrivePolicy.deadLetterTargetArn)).toBe('DeadLetterQueue');
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(5);
  });

  it('pipes batches synchronously into the sync machine, under 256 KB of input', () => {
    const pipe = resources.SyncPipe!.Properties;
    expect(resourceName(pipe.Source)).toBe('BufferQueue');
    expect(resourceName(pipe.Target)).toBe('SyncStateMachine');
    expect(pipe.TargetParameters).toEqual({
      StepFunctionStateMachineParameters: { InvocationType: 'REQUEST_RESPONSE' },
    });
    expect(pipe.SourceParameters).toEqual({
      SqsQueueParameters: { BatchSize: 20, MaximumBatchingWindowInSeconds: 1 },
    });
    const batchSize = pipe.SourceParameters.SqsQueueParameters.BatchSize;
    expect(batchSize).toBeLessThanOrEqual(params.MAX_BATCH_SIZE);
    expect(batchSize * params.WORST_RECORD_BYTES).toBeLessThan(params.STATE_INPUT_LIMIT_BYTES);
  });

  it.each(STATE_MACHINES)(
    'deploys $file itself, its placeholders filled by DefinitionSubstitutions',
    (machine) => {
      const text = readFileSync(join(SERVICE_DIR, 'statemachines', machine.file), 'utf8');
      const properties = resources[machine.id]!.Properties;
      expect(properties.StateMachineType).toBe(machine.type);
      expect(JSON.parse(properties.DefinitionString)).toEqual(JSON.parse(text));
      const placeholders = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
      expect(Object.keys(properties.DefinitionSubstitutions).sort()).toEqual([...placeholders].sort());
      const substituted = Object.fromEntries(
        Object.entries(properties.DefinitionSubstitutions).map(([key, value]) => [key, resourceName(value)]),
      );
      expect(substituted).toEqual(machine.substitutions);
    },
  );

  it('logs Express executions at ERROR level to its own log group', () => {
    expect(resources.SyncStateMachineLogGroup!.Properties.RetentionInDays).toBe(30);
    expect(resources.SyncStateMachine!.Properties.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: true,
      Destinations: [
        { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['SyncStateMachineLogGroup', 'Arn'] } } },
      ],
    });
  });

  it.each(TABLES)(
    '%s is on demand, with PITR, TTL on %s, and the keys of tableDefinitions()',
    (id, name, ttl) => {
      const table = resources[id]!.Properties;
      const definition = tableDefinitions({
        ledger: 'ledger',
        associations: 'associations',
        tasks: 'tasks',
      }).find((d) => d.TableName === name)!;
      expect(table.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.TimeToLiveSpecification).toEqual(ttl ? { AttributeName: ttl, Enabled: true } : undefined);
      expect(table.KeySchema).toEqual(definition.KeySchema);
      expect(table.AttributeDefinitions).toEqual(definition.AttributeDefinitions);
      expect(table.GlobalSecondaryIndexes).toEqual(definition.GlobalSecondaryIndexes);
    },
  );

  it.each(VPC_ENDPOINTS)('%s: a %s endpoint for %s, on when network=endpoints', (id, type, service) => {
    const endpoint = resources[id]!;
    expect(endpoint.Condition).toBe('UseVpcEndpoints');
    expect(endpoint.Properties.VpcEndpointType).toBe(type);
    expect(endpoint.Properties.ServiceName).toEqual({
      'Fn::Sub': `com.amazonaws.\${AWS::Region}.${service}`,
    });
    expect(endpoint.Properties.VpcId).toBe(CI_PARAMS.vpcId);
    if (type === 'Gateway') expect(endpoint.Properties.RouteTableIds).toEqual(CI_PARAMS.routeTableIds);
    else {
      expect(endpoint.Properties.SubnetIds).toEqual(CI_PARAMS.subnetIds);
      expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
    }
  });

  it('chooses endpoints or a NAT by the `network` parameter', () => {
    expect(template.Conditions).toEqual({
      UseVpcEndpoints: { 'Fn::Equals': ['endpoints', 'endpoints'] },
      UseNat: { 'Fn::Equals': ['endpoints', 'nat'] },
    });
    const natResources = Object.entries(resources).filter(([, r]) => r.Condition === 'UseNat');
    expect(natResources.map(([id, r]) => [id, r.Type])).toEqual([
      ['NatAddress', 'AWS::EC2::EIP'],
      ['NatGateway', 'AWS::EC2::NatGateway'],
      ['NatRoute1', 'AWS::EC2::Route'],
      ['NatRoute2', 'AWS::EC2::Route'],
    ]);
    expect(natResources.slice(2).map(([, r]) => r.Properties.RouteTableId)).toEqual(CI_PARAMS.routeTableIds);
    const ingress = resources.EndpointIngress1!.Properties;
    expect([ingress.FromPort, ingress.ToPort, ingress.SourceSecurityGroupId]).toEqual([
      443,
      443,
      CI_PARAMS.securityGroupIds[0],
    ]);
  });

  it.each(ALARMS)('alarm %s watches %s %s of %s', (id, namespace, metric, dimension, watched) => {
    const alarm = resources[id]!.Properties;
    expect([alarm.Namespace, alarm.MetricName]).toEqual([namespace, metric]);
    expect(alarm.Dimensions.map((d: any) => [d.Name, resourceName(d.Value)])).toEqual([[dimension, watched]]);
    expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
  });

  it('outputs the agent bus and the control function', () => {
    expect(resourceName(template.Outputs.AgentBusName!.Value)).toBe('AgentBus');
    expect(resourceName(template.Outputs.ControlFunctionName!.Value)).toBe('ControlLambdaFunction');
    expect(resources.ControlLambdaFunction!.Properties.FunctionName).toBe('bucketlink-ci-control');
  });

  it.each(['Plan', 'Apply', 'Summarize', 'Control', 'List', 'Report', 'Schedule', 'Large'])(
    '%s runs on nodejs22.x with an environment src/config.ts reads',
    (name) => {
      const fn = resources[`${name}LambdaFunction`]!.Properties;
      expect(fn.Runtime).toBe('nodejs22.x');
      const variables = fn.Environment.Variables as Record<string, unknown>;
      // Refs become their logical ids here; what matters is which variable names which resource.
      const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resourceName(v)]));
      const config = configFromEnv(env);
      expect(config.tables).toEqual({
        ledger: 'LedgerTable',
        associations: 'AssociationsTable',
        tasks: 'TasksTable',
      });
      expect(config.busName).toBe('AgentBus');
      expect(config.fileSystemRoot).toBe('/mnt/fs');
      expect(config.restoreOwner).toBe(false);
      expect(env.BUCKETLINK_RULE_BUCKETS).toBe(name === 'Control' ? CI_PARAMS.buckets : undefined);
      const tasks = taskConfigFromEnv(env);
      const expected = TASK_ENV[name];
      expect(env.BUCKETLINK_TASKS_BUCKET).toBe(expected?.bucket);
      if (expected?.bucket) expect(tasks.manifestBucket).toBe(expected.bucket);
      expect(tasks.stateMachineArn).toBe(expected?.machine);
      // Apply hands large paths off, and the large function may again: both know the machine and the sizes.
      const large = largeConfigFromEnv(env);
      if (name === 'Apply' || name === 'Large') {
        expect(large).toEqual({
          stateMachineArn: name === 'Apply' ? 'LargeTransferStateMachine' : LARGE_MACHINE_SUB,
          thresholdBytes: 1024 ** 3,
          partSize: 64 * 1024 ** 2,
          maxConcurrency: 8,
        });
      } else {
        expect(large.stateMachineArn).toBeUndefined();
      }
    },
  );

  it('keeps walk manifests in a private, encrypted bucket where stray ones expire', () => {
    const bucket = resources.TasksBucket!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(Object.values(bucket.Properties.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    const [rule, ...more] = bucket.Properties.LifecycleConfiguration.Rules;
    expect(more).toEqual([]);
    // The prefix manifestKey() writes under, so the rule and the IAM resources cover exactly the manifests.
    expect(`${rule.Prefix}x.jsonl`).toBe(manifestKey('x'));
    expect(rule.ExpirationInDays).toBeGreaterThan(0);
  });

  it('starts a RECONCILE sweep on the `reconcileSchedule` parameter through the schedule function', () => {
    const schedule = resources.ReconcileSchedule!;
    expect(schedule.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule.Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(schedule.Properties.State).toBe('ENABLED');
    const target = schedule.Properties.Target;
    expect(resourceName(target.Arn)).toBe('ScheduleLambdaFunction');
    expect(resourceName(target.RoleArn)).toBe('ReconcileScheduleRole');
    // The input the schedule function's schema accepts.
    expect(JSON.parse(target.Input)).toEqual({ type: 'RECONCILE' });
  });

  it.each([
    ['rate(1 day)', true],
    ['rate(30 minutes)', true],
    ['cron(0 3 * * ? *)', true],
    ['rate(0 days)', false],
    ['every day', false],
    ['cron(0 3 * * ?)', false],
  ])('checks the schedule expression %s at package time (valid: %s)', (expression, valid) => {
    const check = () => params.scheduleExpression(expression);
    if (valid) expect(check()).toBe(expression);
    else expect(check).toThrow(/reconcileSchedule/);
  });

  it.each(['plan', 'apply', 'summarize', 'control', 'list', 'report', 'schedule', 'large'])(
    'bundles functions/%s.ts into a loadable handler',
    (name) => {
      const out = mkdtempSync(join(tmpdir(), 'bucketlink-bundle-'));
      execFileSync('unzip', ['-q', join(PACKAGE_DIR, `${name}.zip`), '-d', out]);
      const bundle = require(join(out, 'functions', `${name}.js`)) as { handler?: unknown };
      expect(typeof bundle.handler).toBe('function');
    },
  );
});
