import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { RepositoryTask } from './model.ts';

/**
 * Starts a task's execution of the deployed repository-task machine. The
 * execution is named after the task, so a retried start cannot run a task
 * twice (Step Functions refuses a second execution of the same name).
 */
export function stepFunctionsTaskStarter(options: { client: SFNClient; stateMachineArn: string }) {
  return async (task: RepositoryTask): Promise<void> => {
    try {
      await options.client.send(
        new StartExecutionCommand({
          stateMachineArn: options.stateMachineArn,
          name: task.taskId,
          input: JSON.stringify({ taskId: task.taskId }),
        }),
      );
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
  };
}
