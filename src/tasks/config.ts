import { z } from 'zod';

/** What the task functions read from their environment, once, validated. */
const environment = z.object({
  /** Bucket for walk manifests; serverless.yml creates it, outside every association. */
  BUCKETLINK_TASKS_BUCKET: z.string().min(3).default('bucketlink-tasks'),
  /** The repository-task state machine, for the control function to start executions. */
  BUCKETLINK_TASK_MACHINE_ARN: z.string().optional(),
});

export interface TaskConfig {
  manifestBucket: string;
  stateMachineArn?: string;
}

export function taskConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TaskConfig {
  const parsed = environment.parse(env);
  return {
    manifestBucket: parsed.BUCKETLINK_TASKS_BUCKET,
    stateMachineArn: parsed.BUCKETLINK_TASK_MACHINE_ARN,
  };
}
