// biome-ignore-all lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; the tests are its schema.
import { describe, expect, it } from 'vitest';
import { allowedActions, asArray, CI_PARAMS, loadTemplate, roleOf, templatePresent } from './template.ts';

/**
 * Least privilege, read from the packaged template: every function has its
 * own role, and each role allows exactly the actions (and resources) below —
 * what the function's code calls, no more. Change the table only together
 * with the code that needs the permission.
 */

const LEDGER = ['LedgerTable', 'LedgerTable/index/byIno'];
const BUCKETS = ['s3:::data-*', 's3:::logs'];
const OBJECTS = ['s3:::data-*/*', 's3:::logs/*'];
const ACCESS_POINT = [CI_PARAMS.fileSystemAccessPointArn];
const MANIFESTS = ['TasksBucket/manifests/*'];
const TASK_MACHINE = ['RepositoryTaskStateMachine'];
/** The task machine's own ARNs, spelled out in its role (CloudFormation `Fn::Sub`, read by resourceName). */
const TASK_MACHINE_ARN = `states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:bucketlink-ci-repository-task`;
const TASK_EXECUTIONS = `states:\${AWS::Region}:\${AWS::AccountId}:execution:bucketlink-ci-repository-task/*`;
/** The large-file machine's ARN as its own function's role spells it (a Ref would be circular). */
const LARGE_MACHINE_ARN = `states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:bucketlink-ci-large-transfer`;

/** What apply's code does; the large function runs it too. */
const APPLY_CODE: Record<string, string[]> = {
  's3:GetObject': OBJECTS,
  's3:PutObject': OBJECTS,
  's3:DeleteObject': OBJECTS,
  's3:AbortMultipartUpload': OBJECTS,
  's3:ListBucket': BUCKETS,
  'dynamodb:GetItem': [...LEDGER, 'AssociationsTable'].sort(),
  'dynamodb:UpdateItem': LEDGER,
  'dynamodb:DeleteItem': LEDGER,
  'dynamodb:Query': LEDGER,
  'events:PutEvents': ['AgentBus'],
  'elasticfilesystem:ClientMount': ACCESS_POINT,
  'elasticfilesystem:ClientWrite': ACCESS_POINT,
};

const EXPECTED_ACTIONS: Record<string, Record<string, string[]>> = {
  // plan: the ledger row of each path (echo check) and the association list.
  PlanLambdaFunction: {
    'dynamodb:GetItem': LEDGER,
    'dynamodb:Scan': ['AssociationsTable'],
  },
  // apply: HEAD/GET/PUT/DELETE objects, list a directory marker, lease → commit, conflict events, the mount;
  // a path above largeFileBytes is handed to the large-file machine.
  ApplyLambdaFunction: { ...APPLY_CODE, 'states:StartExecution': ['LargeTransferStateMachine'] },
  // large: multipart upload (PutObject) / ranged GET / abort, the lease and commit, the mount; and apply's
  // own code when a transfer finds nothing large left or someone asked meanwhile (delete, conflict event,
  // a new hand-off, to its own machine by the ARN spelled out).
  LargeLambdaFunction: { ...APPLY_CODE, 'states:StartExecution': [LARGE_MACHINE_ARN] },
  // summarize: pure; logs only.
  SummarizeLambdaFunction: {},
  // control: association CRUD, clearing a ledger, HeadBucket, bucket notifications, the sentinel on the mount,
  // and tasks: create/describe/cancel in the tasks table, StartExecution of the task machine.
  ControlLambdaFunction: {
    'dynamodb:GetItem': ['AssociationsTable', 'TasksTable'],
    'dynamodb:PutItem': ['AssociationsTable', 'TasksTable'],
    'dynamodb:UpdateItem': ['TasksTable'],
    'dynamodb:DeleteItem': [...LEDGER, 'AssociationsTable'].sort(),
    'dynamodb:Scan': ['AssociationsTable', 'TasksTable'],
    'dynamodb:Query': LEDGER,
    'dynamodb:BatchWriteItem': LEDGER,
    's3:ListBucket': BUCKETS,
    's3:GetBucketNotification': BUCKETS,
    's3:PutBucketNotification': BUCKETS,
    'states:StartExecution': TASK_MACHINE,
    'elasticfilesystem:ClientMount': ACCESS_POINT,
    'elasticfilesystem:ClientWrite': ACCESS_POINT,
  },
  // list: Start (task → EXECUTING, total; HeadBucket; walk, listing and ledger rows → manifest uploads) and
  // Prepare (task lifecycle, association, rows and HEADs for the precheck, stat on the mount). Reads the file system only.
  ListLambdaFunction: {
    'dynamodb:GetItem': ['AssociationsTable', 'TasksTable'],
    'dynamodb:UpdateItem': ['TasksTable'],
    'dynamodb:BatchGetItem': LEDGER,
    'dynamodb:Query': LEDGER,
    's3:ListBucket': BUCKETS,
    's3:GetObject': OBJECTS,
    's3:PutObject': MANIFESTS,
    's3:AbortMultipartUpload': MANIFESTS,
    'elasticfilesystem:ClientMount': ACCESS_POINT,
  },
  // report: Tally (counters, failure parts) and Finish (lifecycle, failures.csv in the report path, drop the manifest).
  ReportLambdaFunction: {
    'dynamodb:GetItem': ['TasksTable'],
    'dynamodb:PutItem': ['TasksTable'],
    'dynamodb:UpdateItem': ['TasksTable'],
    's3:PutObject': OBJECTS,
    's3:AbortMultipartUpload': OBJECTS,
    's3:DeleteObject': MANIFESTS,
  },
  // schedule: list associations and running tasks, create a RECONCILE task each, start it.
  ScheduleLambdaFunction: {
    'dynamodb:GetItem': ['AssociationsTable', 'TasksTable'],
    'dynamodb:Scan': ['AssociationsTable', 'TasksTable'],
    'dynamodb:PutItem': ['TasksTable'],
    'states:StartExecution': TASK_MACHINE,
  },
};

/** Functions on the EFS mount, hence in the VPC with the VPC access managed policy. */
const IN_VPC = new Set([
  'ApplyLambdaFunction',
  'ControlLambdaFunction',
  'ListLambdaFunction',
  'LargeLambdaFunction',
]);

describe.skipIf(!templatePresent)('packaged template: one least-privilege role per function', () => {
  const template = templatePresent ? loadTemplate() : { Resources: {}, Outputs: {} };
  const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');

  it('packages exactly the functions of functions/', () => {
    expect(functions.map(([id]) => id).sort()).toEqual(Object.keys(EXPECTED_ACTIONS).sort());
  });

  it('gives every function a role of its own, never the shared default role', () => {
    const roles = functions.map(([id]) => roleOf(template, id).id);
    expect(new Set(roles).size).toBe(functions.length);
    // The shared role Serverless always compiles is dropped (deploy/drop-shared-role.cjs).
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    const lambdaRoles = Object.values(template.Resources).filter(
      (r) =>
        r.Type === 'AWS::IAM::Role' &&
        JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('lambda.'),
    );
    expect(lambdaRoles).toHaveLength(functions.length);
    for (const id of roles) expect(template.Resources[id]!.Type).toBe('AWS::IAM::Role');
  });

  it.each(Object.entries(EXPECTED_ACTIONS))(
    '%s may do exactly what its code does',
    (functionId, expected) => {
      const { role } = roleOf(template, functionId);
      expect(allowedActions(role)).toEqual(expected);
    },
  );

  it.each(Object.keys(EXPECTED_ACTIONS))('%s writes logs only to its own log group', (functionId) => {
    const { role } = roleOf(template, functionId);
    const name = template.Resources[functionId]!.Properties.FunctionName as string;
    const logResources = role.Properties.Policies.flatMap((policy: any) =>
      policy.PolicyDocument.Statement.filter((s: any) =>
        asArray<string>(s.Action).some((a) => a.startsWith('logs:')),
      ),
    ).flatMap((s: any) => asArray(s.Resource).map((r: any) => r['Fn::Sub']));
    expect(logResources).toEqual([
      `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${name}:*:*`,
    ]);
  });

  it('allows no wildcard action anywhere and no wildcard resource outside log delivery', () => {
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      for (const policy of resource.Properties.Policies ?? []) {
        for (const statement of policy.PolicyDocument.Statement) {
          for (const action of asArray<string>(statement.Action)) expect(action, id).not.toContain('*');
          if (asArray(statement.Resource).includes('*')) {
            // Step Functions' vended-log delivery APIs have no resource-level permissions.
            expect(id).toBe('SyncStateMachineRole');
            expect(asArray<string>(statement.Action).every((a) => a.startsWith('logs:'))).toBe(true);
          }
        }
      }
    }
  });

  it.each(Object.keys(EXPECTED_ACTIONS))(
    '%s has the VPC access policy only when it mounts EFS',
    (functionId) => {
      const { role } = roleOf(template, functionId);
      const fn = template.Resources[functionId]!.Properties;
      if (IN_VPC.has(functionId)) {
        expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain(
          'AWSLambdaVPCAccessExecutionRole',
        );
        expect(fn.FileSystemConfigs).toEqual([
          { Arn: CI_PARAMS.fileSystemAccessPointArn, LocalMountPath: '/mnt/fs' },
        ]);
        expect(fn.VpcConfig).toEqual({
          SubnetIds: CI_PARAMS.subnetIds,
          SecurityGroupIds: CI_PARAMS.securityGroupIds,
        });
      } else {
        expect(role.Properties.ManagedPolicyArns).toEqual([]);
        expect(fn.VpcConfig).toBeUndefined();
        expect(fn.FileSystemConfigs).toBeUndefined();
      }
    },
  );

  it('lets the sync machine invoke only its three functions, and the Pipe only read the buffer and start it', () => {
    const machine = template.Resources.SyncStateMachineRole!;
    expect(allowedActions(machine)).toEqual({
      'lambda:InvokeFunction': ['ApplyLambdaFunction', 'PlanLambdaFunction', 'SummarizeLambdaFunction'],
    });
    expect(allowedActions(template.Resources.SyncPipeRole!)).toEqual({
      'sqs:ReceiveMessage': ['BufferQueue'],
      'sqs:DeleteMessage': ['BufferQueue'],
      'sqs:GetQueueAttributes': ['BufferQueue'],
      'states:StartSyncExecution': ['SyncStateMachine'],
    });
  });

  it('lets the task machine invoke its functions, run its own Distributed Map children and read their items', () => {
    expect(allowedActions(template.Resources.RepositoryTaskStateMachineRole!)).toEqual({
      'lambda:InvokeFunction': ['ApplyLambdaFunction', 'ListLambdaFunction', 'ReportLambdaFunction'],
      // Step Functions' documented Distributed Map policy: start child executions of itself, watch and stop them.
      'states:StartExecution': [TASK_MACHINE_ARN],
      'states:DescribeExecution': [TASK_EXECUTIONS],
      'states:StopExecution': [TASK_EXECUTIONS],
      // ItemReaders: the manifests Start wrote (s3:getObject); none lists a bucket itself.
      's3:GetObject': MANIFESTS,
    });
    // The spelled-out ARN is the machine's own name (a Ref would be circular).
    expect(template.Resources.RepositoryTaskStateMachine!.Properties.StateMachineName).toBe(
      TASK_MACHINE_ARN.split(':').pop(),
    );
  });

  it('lets the large-file machine invoke only the large function, whose role names that machine', () => {
    expect(allowedActions(template.Resources.LargeTransferStateMachineRole!)).toEqual({
      'lambda:InvokeFunction': ['LargeLambdaFunction'],
    });
    expect(template.Resources.LargeTransferStateMachine!.Properties.StateMachineName).toBe(
      LARGE_MACHINE_ARN.split(':').pop(),
    );
  });

  it('lets the scheduler invoke only the schedule function', () => {
    const role = template.Resources.ReconcileScheduleRole!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'scheduler.amazonaws.com',
    });
    expect(allowedActions(role)).toEqual({ 'lambda:InvokeFunction': ['ScheduleLambdaFunction'] });
  });
});
