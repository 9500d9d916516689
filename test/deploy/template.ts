// biome-ignore-all lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; the tests are its schema.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The CloudFormation template `npm run package:check` has `serverless package`
 * write (stage `ci`, region us-east-1), and helpers to read it.
 */

export const SERVICE_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const PACKAGE_DIR = `${SERVICE_DIR}.serverless/`;
export const TEMPLATE_PATH = `${PACKAGE_DIR}cloudformation-template-update-stack.json`;

/** The `ci` stage's parameters in serverless.yml, as the tests expect them to be deployed. */
export const CI_PARAMS = {
  buckets: 'logs,data-*',
  fileSystemAccessPointArn:
    'arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
  securityGroupIds: ['sg-0123456789abcdef0'],
  routeTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0bbbbbbbbbbbbbbb2'],
};

export interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, any>;
  DependsOn?: string | string[];
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
  Conditions?: Record<string, unknown>;
}

export const templatePresent = existsSync(TEMPLATE_PATH);

if (!templatePresent && process.env.BUCKETLINK_PACKAGED === '1') {
  // deploy/package-check.sh sets it after packaging: there, a missing template is a failure, never a skip.
  throw new Error(`serverless package ran but wrote no ${TEMPLATE_PATH}`);
}
if (!templatePresent) {
  // Only a run without the package step gets here (plain `npm test`); CI runs `npm run package:check`.
  console.warn(`skipping template tests: ${TEMPLATE_PATH} is missing — run \`npm run package:check\``);
}

export function loadTemplate(): Template {
  return JSON.parse(readFileSync(TEMPLATE_PATH, 'utf8')) as Template;
}

/**
 * A readable name for an IAM resource or intrinsic: `{ 'Fn::GetAtt': ['LedgerTable', 'Arn'] }`
 * → `LedgerTable`, `{ 'Fn::Sub': '${LedgerTable.Arn}/index/byIno' }` → `LedgerTable/index/byIno`,
 * `{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::logs/*' }` → `s3:::logs/*`, `{ Ref: 'X' }` → `X`.
 */
export function resourceName(value: unknown): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as Record<string, any>;
  if (intrinsic.Ref) return intrinsic.Ref;
  if (intrinsic['Fn::GetAtt']) return intrinsic['Fn::GetAtt'][0];
  if (intrinsic['Fn::Sub']) {
    return String(intrinsic['Fn::Sub'])
      .replace(/^arn:\$\{AWS::Partition\}:/, '')
      .replace(/\$\{(\w+)\.Arn\}/, '$1');
  }
  return JSON.stringify(value);
}

/** `[x]` or `x` → `[x]`. */
export function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** A function's role resource, by the logical id its `Role` points at. */
export function roleOf(template: Template, functionLogicalId: string): { id: string; role: Resource } {
  const id = resourceName(template.Resources[functionLogicalId]!.Properties.Role);
  return { id, role: template.Resources[id]! };
}

/** Every (action → resources) a role's inline policies allow, logs statements left out. */
export function allowedActions(role: Resource): Record<string, string[]> {
  const allowed: Record<string, string[]> = {};
  for (const policy of role.Properties.Policies ?? []) {
    for (const statement of policy.PolicyDocument.Statement) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asArray<string>(statement.Action)) {
        if (action.startsWith('logs:')) continue;
        allowed[action] = [
          ...(allowed[action] ?? []),
          ...asArray(statement.Resource).map(resourceName),
        ].sort();
      }
    }
  }
  return allowed;
}
