// biome-ignore-all lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; the tests are its schema.
import { describe, expect, it } from 'vitest';
import { asArray, CI_PARAMS, loadTemplate, roleOf, templatePresent } from './template.ts';

/**
 * The shape of the roles in the packaged template: one role per function, logs
 * only to its own group, no wildcard action, VPC access only with the mount.
 * What each role allows is proved from the calls the code makes, not from a
 * table: test/deploy/iam-calls.test.ts.
 */

/** The packaged functions: one per file in functions/. */
const FUNCTIONS = [
  'ApplyLambdaFunction',
  'ControlLambdaFunction',
  'LargeLambdaFunction',
  'ListLambdaFunction',
  'PlanLambdaFunction',
  'ReportLambdaFunction',
  'ScheduleLambdaFunction',
  'SummarizeLambdaFunction',
];

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
    expect(functions.map(([id]) => id).sort()).toEqual(FUNCTIONS);
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

  it.each(FUNCTIONS)('%s writes logs only to its own log group', (functionId) => {
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

  it.each(FUNCTIONS)('%s has the VPC access policy only when it mounts EFS', (functionId) => {
    const { role } = roleOf(template, functionId);
    const fn = template.Resources[functionId]!.Properties;
    if (IN_VPC.has(functionId)) {
      expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('AWSLambdaVPCAccessExecutionRole');
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
  });
});
