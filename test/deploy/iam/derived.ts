// biome-ignore-all lint/suspicious/noExplicitAny: template and ASL JSON are untyped.
import { readFileSync } from 'node:fs';
import type { Template } from '../template.ts';
import type { Call } from './recorder.ts';
import type { TemplateValues } from './template-values.ts';

/**
 * The calls AWS services make on the stack's behalf that no local run can
 * record, read from what the template and the ASL configure: the Pipe polls
 * its Source queue and starts its Target; the scheduler invokes its Target;
 * a Distributed Map starts, describes and stops child executions of its own
 * machine (Step Functions' documented Distributed Map policy). The machines'
 * Lambda invocations and ItemReader reads are recorded, not derived.
 */

const ASL: Record<string, string> = {
  SyncStateMachine: 'sync',
  RepositoryTaskStateMachine: 'repository-task',
  LargeTransferStateMachine: 'large-transfer',
};

function* distributedMaps(states: Record<string, any>): Generator<string> {
  for (const [name, state] of Object.entries(states)) {
    const processor = state.ItemProcessor ?? state.Iterator;
    if (state.Type === 'Map' && processor?.ProcessorConfig?.Mode === 'DISTRIBUTED') yield name;
    if (processor) yield* distributedMaps(processor.States);
    for (const branch of state.Branches ?? []) yield* distributedMaps(branch.States);
  }
}

export function derivedCalls(template: Template, values: TemplateValues): Call[] {
  const calls: Call[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties;
    if (resource.Type === 'AWS::Pipes::Pipe') {
      const queue = values.resolve(p.Source);
      for (const command of ['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'])
        calls.push({ caller: id, service: 'sqs', command, input: { QueueArn: queue } });
      const sync =
        p.TargetParameters?.StepFunctionStateMachineParameters?.InvocationType === 'REQUEST_RESPONSE';
      calls.push({
        caller: id,
        service: 'states',
        command: sync ? 'StartSyncExecution' : 'StartExecution',
        input: { stateMachineArn: values.resolve(p.Target) },
      });
    }
    if (resource.Type === 'AWS::Scheduler::Schedule')
      calls.push({
        caller: id,
        service: 'lambda',
        command: 'Invoke',
        input: { FunctionName: values.resolve(p.Target.Arn) },
      });
    if (resource.Type === 'AWS::StepFunctions::StateMachine' && ASL[id]) {
      const definition = JSON.parse(
        readFileSync(new URL(`../../../statemachines/${ASL[id]}.asl.json`, import.meta.url), 'utf8'),
      );
      const arn = values.arn(id);
      for (const map of distributedMaps(definition.States)) {
        const child = `${arn.replace(':stateMachine:', ':execution:')}/${map}:child`;
        calls.push({
          caller: id,
          service: 'states',
          command: 'StartExecution',
          input: { stateMachineArn: arn },
        });
        for (const command of ['DescribeExecution', 'StopExecution'])
          calls.push({ caller: id, service: 'states', command, input: { executionArn: child } });
      }
    }
  }
  return calls;
}
