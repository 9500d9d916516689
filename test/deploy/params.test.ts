import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseBucketSelectors } from '../../src/adapters/notifications.ts';
import {
  AGENT_DETAIL_TYPE,
  AGENT_SOURCE,
  agentChangeEvent,
  type FileSystemChange,
  pipeBatch,
} from '../../src/core/events.ts';

/** The deploy parameter helpers serverless.yml resolves at package time (deploy/*.cjs). */

const require = createRequire(import.meta.url);
const params = require('../../deploy/params.cjs') as {
  MAX_EVENT_BYTES: number;
  WORST_RECORD_BYTES: number;
  MAX_BATCH_SIZE: number;
  STATE_INPUT_LIMIT_BYTES: number;
  parseBuckets(text: string): unknown;
  batchSize(text: string): number;
  checkBatchWindow(size: number, windowSeconds: number): void;
  checkOwnBuckets(selectors: unknown, service: string, stage: string): unknown;
  fileSystemArns(accessPointArn: string): string[];
};
const { networkResources } = require('../../deploy/network.cjs') as {
  networkResources(input: Record<string, unknown>): {
    Conditions: Record<string, unknown>;
    Resources: Record<string, { Type: string; Condition: string; Properties: Record<string, unknown> }>;
  };
};

describe('the buckets parameter', () => {
  it.each([
    ['logs', ['logs']],
    ['logs, data-*', ['logs', { prefix: 'data-' }]],
    ['a-*,b,,c', [{ prefix: 'a-' }, 'b', 'c']],
  ])('reads %j the same at package time and in the control function', (text, expected) => {
    expect(params.parseBuckets(text)).toEqual(expected);
    expect(parseBucketSelectors(text)).toEqual(expected);
  });

  it.each(['', '*', 'a*b', ' , '])('refuses %j at package time and in the control function', (text) => {
    expect(() => params.parseBuckets(text)).toThrow(/buckets/);
    expect(() => parseBucketSelectors(text)).toThrow(/buckets/);
  });
});

/** An agent event whose detail is as large as the agent sends (8 KB), with realistic paths. */
function largestAgentEvent() {
  const changes: FileSystemChange[] = [];
  let seq = 0;
  const detail = () => JSON.stringify({ schema: 1, host: 'ip-10-0-1-23.ec2.internal', changes });
  for (;;) {
    const change = {
      path: `/logs/2026/11/24/run ${seq} + "quoted" résumé.txt`,
      op: 'modified' as const,
      size: 1_048_576 + seq,
      mtimeNs: '1795525132837000000',
      ino: String(1_000_000 + seq),
      kind: 'file' as const,
      seq: seq++,
    };
    changes.push(change);
    if (Buffer.byteLength(detail()) > params.MAX_EVENT_BYTES) {
      changes.pop();
      break;
    }
  }
  return agentChangeEvent.parse({
    version: '0',
    id: randomUUID(),
    'detail-type': AGENT_DETAIL_TYPE,
    source: AGENT_SOURCE,
    account: '123456789012',
    time: '2026-11-24T13:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: JSON.parse(detail()),
  });
}

/** The SQS record a Pipe hands its target (AWS's documented shape), around one event. */
function pipeRecord(body: string) {
  return {
    messageId: randomUUID(),
    // Real receipt handles run to a few hundred characters.
    receiptHandle: `AQEB${'x'.repeat(396)}`,
    body,
    attributes: {
      ApproximateReceiveCount: '5',
      SentTimestamp: '1795525132837',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1795525132839',
    },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:bucketlink-prod-buffer',
    awsRegion: 'eu-west-1',
  };
}

describe('the Pipe batch size', () => {
  it('bounds a record holding the largest agent event', () => {
    const record = pipeRecord(JSON.stringify(largestAgentEvent()));
    expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThanOrEqual(params.WORST_RECORD_BYTES);
  });

  it('keeps the largest batch it allows under the 256 KB execution input limit', () => {
    const batch = pipeBatch.parse(
      Array.from({ length: params.MAX_BATCH_SIZE }, () => pipeRecord(JSON.stringify(largestAgentEvent()))),
    );
    expect(Buffer.byteLength(JSON.stringify(batch))).toBeLessThan(params.STATE_INPUT_LIMIT_BYTES);
  });

  it('refuses a batch size that could exceed it', () => {
    expect(params.MAX_BATCH_SIZE).toBe(22);
    expect(params.batchSize('22')).toBe(22);
    expect(() => params.batchSize('23')).toThrow(/256 KB/);
    expect(() => params.batchSize('0')).toThrow(/batchSize/);
  });

  it('requires a batching window above 10 messages, as Pipes do', () => {
    expect(() => params.checkBatchWindow(20, 0)).toThrow(/batchWindowSeconds/);
    expect(() => params.checkBatchWindow(10, 0)).not.toThrow();
    expect(() => params.checkBatchWindow(20, 1)).not.toThrow();
  });
});

describe('the network parameter', () => {
  const input = {
    vpcId: 'vpc-1',
    subnetIds: ['subnet-a', 'subnet-b'],
    securityGroupIds: ['sg-1', 'sg-2'],
    routeTableIds: ['rtb-a', 'rtb-b', 'rtb-c'],
    publicSubnetId: 'subnet-0abc1',
  };

  it('with nat, routes every private route table through one NAT gateway in the public subnet', () => {
    const { Conditions, Resources } = networkResources({ ...input, network: 'nat' });
    expect(Conditions).toEqual({
      UseVpcEndpoints: { 'Fn::Equals': ['nat', 'endpoints'] },
      UseNat: { 'Fn::Equals': ['nat', 'nat'] },
    });
    expect(Resources.NatGateway!.Properties.SubnetId).toBe('subnet-0abc1');
    const routes = Object.values(Resources).filter((r) => r.Type === 'AWS::EC2::Route');
    expect(
      routes.map((r) => [r.Condition, r.Properties.RouteTableId, r.Properties.DestinationCidrBlock]),
    ).toEqual([
      ['UseNat', 'rtb-a', '0.0.0.0/0'],
      ['UseNat', 'rtb-b', '0.0.0.0/0'],
      ['UseNat', 'rtb-c', '0.0.0.0/0'],
    ]);
  });

  it('with endpoints, lets every worker security group reach the interface endpoints on 443', () => {
    const { Resources } = networkResources({ ...input, network: 'endpoints' });
    const ingress = Object.values(Resources).filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress');
    expect(ingress.map((r) => [r.Properties.SourceSecurityGroupId, r.Properties.FromPort])).toEqual([
      ['sg-1', 443],
      ['sg-2', 443],
    ]);
  });

  it('refuses anything but endpoints or nat', () => {
    expect(() => networkResources({ ...input, network: 'none' })).toThrow(/network/);
  });

  it('refuses network=nat without a public subnet (the default `none` included)', () => {
    expect(() => networkResources({ ...input, network: 'nat', publicSubnetId: 'none' })).toThrow(
      /publicSubnetId.*network=nat/,
    );
    expect(() => networkResources({ ...input, network: 'nat', publicSubnetId: '' })).toThrow(
      /publicSubnetId/,
    );
  });

  it('creates only the interface endpoints asked for, and none for Lambda', () => {
    const ids = (interfaceEndpoints?: string) =>
      Object.keys(networkResources({ ...input, network: 'endpoints', interfaceEndpoints }).Resources)
        .filter((id) => id.endsWith('InterfaceEndpoint'))
        .sort();
    expect(ids()).toEqual(['EventsInterfaceEndpoint', 'StatesInterfaceEndpoint']);
    expect(ids('states')).toEqual(['StatesInterfaceEndpoint']);
    expect(ids('none')).toEqual([]);
    expect(() => ids('lambda')).toThrow(/interfaceEndpoints/);
  });
});

describe("the buckets parameter and the stack's own buckets", () => {
  it('refuses a selector that covers bucketlink-<stage>-… (tasks and deployment buckets)', () => {
    const check = (text: string) => params.checkOwnBuckets(params.parseBuckets(text), 'bucketlink', 'prod');
    expect(() => check('bucketlink-*')).toThrow(/own buckets/);
    expect(() => check('bucketlink-prod-*')).toThrow(/own buckets/);
    expect(() => check('bucketlink-prod-tasksbucket-abc')).toThrow(/own buckets/);
    expect(() => check('b*')).toThrow(/own buckets/);
    expect(check('bucketlink-data-*')).toEqual([{ prefix: 'bucketlink-data-' }]);
    expect(check('logs,data-*')).toEqual(['logs', { prefix: 'data-' }]);
  });

  it('turns the access point into the file-system resource EFS authorizes on', () => {
    expect(
      params.fileSystemArns('arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0abc'),
    ).toEqual(['arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/*']);
    expect(() => params.fileSystemArns('fs-1')).toThrow(/fileSystemAccessPointArn/);
  });
});
