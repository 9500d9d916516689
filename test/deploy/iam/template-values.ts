// biome-ignore-all lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped.
import type { Template } from '../template.ts';

/**
 * The packaged template's intrinsics (Ref, Fn::GetAtt, Fn::Sub, Fn::Join)
 * resolved to the names and ARNs CloudFormation would give the `ci` stage in
 * us-east-1, account 123456789012, from the template's own logical ids and
 * properties. Buckets without a BucketName get a name of the shape
 * CloudFormation generates (`<stack>-<logical id>-<suffix>`).
 */

export const PARTITION = 'aws';
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const STACK = 'bucketlink-ci';

const PSEUDO: Record<string, string> = {
  'AWS::Partition': PARTITION,
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::StackName': STACK,
  'AWS::URLSuffix': 'amazonaws.com',
};

export class TemplateValues {
  constructor(readonly template: Template) {}

  #resource(id: string) {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`the template has no resource ${id}`);
    return resource;
  }

  /** The physical name of a resource (what `Ref` returns for most types). */
  name(id: string): string {
    const { Type, Properties: p } = this.#resource(id);
    switch (Type) {
      case 'AWS::DynamoDB::Table':
        return this.resolve(p.TableName);
      case 'AWS::S3::Bucket':
        return p.BucketName ? this.resolve(p.BucketName) : `${STACK}-${id.toLowerCase()}-iamcheck`;
      case 'AWS::StepFunctions::StateMachine':
        return this.resolve(p.StateMachineName);
      case 'AWS::Events::EventBus':
        return this.resolve(p.Name);
      case 'AWS::Lambda::Function':
        return this.resolve(p.FunctionName);
      case 'AWS::SQS::Queue':
        return this.resolve(p.QueueName);
      case 'AWS::Logs::LogGroup':
        return this.resolve(p.LogGroupName);
      default:
        return id;
    }
  }

  arn(id: string): string {
    const { Type } = this.#resource(id);
    const name = this.name(id);
    const at = (service: string, rest: string) => `arn:${PARTITION}:${service}:${REGION}:${ACCOUNT}:${rest}`;
    switch (Type) {
      case 'AWS::DynamoDB::Table':
        return at('dynamodb', `table/${name}`);
      case 'AWS::S3::Bucket':
        return `arn:${PARTITION}:s3:::${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return at('states', `stateMachine:${name}`);
      case 'AWS::Events::EventBus':
        return at('events', `event-bus/${name}`);
      case 'AWS::Lambda::Function':
        return at('lambda', `function:${name}`);
      case 'AWS::SQS::Queue':
        return at('sqs', name);
      case 'AWS::Logs::LogGroup':
        return at('logs', `log-group:${name}:*`);
      case 'AWS::IAM::Role':
        return `arn:${PARTITION}:iam::${ACCOUNT}:role/${id}`;
      default:
        throw new Error(`no ARN shape for ${id} (${Type})`);
    }
  }

  ref(id: string): string {
    if (PSEUDO[id]) return PSEUDO[id];
    const { Type } = this.#resource(id);
    if (Type === 'AWS::StepFunctions::StateMachine') return this.arn(id);
    if (Type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${this.name(id)}`;
    return this.name(id);
  }

  getAtt(id: string, attribute: string): string {
    if (attribute === 'Arn') return this.arn(id);
    if (attribute === 'QueueName' || attribute === 'Name') return this.name(id);
    throw new Error(`Fn::GetAtt ${id}.${attribute} is not resolved here`);
  }

  /** A template value with every intrinsic resolved. */
  resolve(value: any): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    if ('Ref' in value) return this.ref(value.Ref);
    if ('Fn::GetAtt' in value) {
      const [id, attribute] = Array.isArray(value['Fn::GetAtt'])
        ? value['Fn::GetAtt']
        : String(value['Fn::GetAtt']).split('.');
      return this.getAtt(id, attribute);
    }
    if ('Fn::Sub' in value) {
      const [text, vars = {}] = Array.isArray(value['Fn::Sub']) ? value['Fn::Sub'] : [value['Fn::Sub']];
      return String(text).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in vars) return this.resolve(vars[name]);
        const [id, attribute] = name.split('.');
        return attribute ? this.getAtt(id!, attribute) : this.ref(id!);
      });
    }
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'];
      return this.resolve(parts).join(separator);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  /** A role's inline policy documents, resolved. */
  policies(roleId: string): Array<{ name: string; policy: any }> {
    const role = this.#resource(roleId);
    if (role.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
    return (role.Properties.Policies ?? []).map((p: any) => ({
      name: `${roleId}/${this.resolve(p.PolicyName)}`,
      policy: this.resolve(p.PolicyDocument),
    }));
  }

  /** The role logical id a resource property (`Role`, `RoleArn`) points at. */
  roleId(value: any): string {
    const id = value?.['Fn::GetAtt']?.[0] ?? value?.Ref;
    if (!id) throw new Error(`not a role reference: ${JSON.stringify(value)}`);
    return id;
  }
}
