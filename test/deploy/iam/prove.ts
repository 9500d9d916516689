// biome-ignore-all lint/suspicious/noExplicitAny: IAM policy JSON is untyped.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { type IamRequest, type Mount, requestsFor } from './actions.ts';
import type { Call } from './recorder.ts';
import { ACCOUNT, type TemplateValues } from './template-values.ts';

/**
 * Proves each recorded call is allowed by its caller's role in the packaged
 * template, with @cloud-copilot/iam-simulate (identity policies only: the
 * stack sets no resource policies, boundaries or SCPs on these calls), and
 * lists the role's statement actions no recorded call needed.
 */

export interface Caller {
  /** The role's logical id in the template. */
  roleId: string;
  mount?: Mount;
}

export interface Proof {
  /** One line per call the role does not allow. */
  denied: string[];
  /** One line per statement action no recorded call needed. */
  unused: string[];
  /** What was proved: caller → sorted unique `action resource` lines. */
  proved: Record<string, string[]>;
}

type Policy = { name: string; policy: any };
/** A request and the recorded call that first needed it. */
type Needed = IamRequest & { via: string };

async function allowed(policies: Policy[], roleArn: string, request: IamRequest): Promise<boolean> {
  const response = await runSimulation(
    {
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: request.action,
        principal: roleArn,
        resource: { accountId: ACCOUNT, resource: request.resource },
        contextVariables: request.context ?? {},
      },
    } as any,
    {},
  );
  if (response.resultType === 'error')
    throw new Error(
      `simulating ${request.action} on ${request.resource}: ${JSON.stringify(response.errors)}`,
    );
  return response.overallResult === 'Allowed';
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Lambda's own log writes: granted by the framework, made by the runtime, never by our code. */
const RUNTIME_ACTIONS = /^logs:/;

export async function prove(
  calls: Call[],
  callers: Record<string, Caller>,
  values: TemplateValues,
): Promise<Proof> {
  const requests = new Map<string, Map<string, Needed>>();
  const denied: string[] = [];
  for (const call of calls) {
    const caller = callers[call.caller];
    if (!caller) throw new Error(`a call by ${call.caller}, which has no role in the check`);
    for (const request of requestsFor(call, caller.mount)) {
      const key = `${request.action} ${request.resource}`;
      const mine = requests.get(call.caller) ?? new Map<string, Needed>();
      requests.set(call.caller, mine);
      if (mine.has(key)) continue;
      mine.set(key, { ...request, via: `${call.service} ${call.command}` });
    }
  }
  const proved: Record<string, string[]> = {};
  const unused: string[] = [];
  for (const [name, caller] of Object.entries(callers)) {
    const policies = values.policies(caller.roleId);
    const roleArn = values.arn(caller.roleId);
    const mine = [...(requests.get(name)?.values() ?? [])];
    proved[name] = mine.map((r) => `${r.action} ${r.resource}`).sort();
    for (const request of mine) {
      if (await allowed(policies, roleArn, request)) continue;
      denied.push(
        `${name}: ${request.via} needs ${request.action} on ${request.resource}${
          request.context ? ` (${JSON.stringify(request.context)})` : ''
        }, which ${caller.roleId} does not allow: add a statement { Effect: Allow, Action: ${request.action}, Resource: ${request.resource} }`,
      );
    }
    // Each statement action on its own: does any recorded request of this caller need it?
    for (const { name: policyName, policy } of policies) {
      for (const [index, statement] of asArray<any>(policy.Statement).entries()) {
        if (statement.Effect !== 'Allow') continue;
        for (const action of asArray<string>(statement.Action)) {
          if (RUNTIME_ACTIONS.test(action)) continue;
          const single = [
            { name: 'one', policy: { Version: '2012-10-17', Statement: [{ ...statement, Action: action }] } },
          ];
          let needed = false;
          for (const request of mine) {
            if (request.action === action && (await allowed(single, roleArn, request))) {
              needed = true;
              break;
            }
          }
          if (!needed)
            unused.push(
              `${name}: ${policyName} statement ${index + 1} allows ${action} on ${JSON.stringify(statement.Resource)}, which no recorded call needed`,
            );
        }
      }
    }
  }
  return { denied, unused, proved };
}
