import { readFile } from 'node:fs/promises';
import { listFunction, reportFunction } from '../handlers.ts';
import type { LambdaHandler } from '../local/stepfunctions.ts';
import { logger } from '../log.ts';
import { LocalTaskMachine } from './local-machine.ts';
import type { RepositoryTask } from './model.ts';
import type { TaskDeps } from './steps.ts';

const TASK_ASL = new URL('../../statemachines/repository-task.asl.json', import.meta.url);

export interface LocalTaskRunnerOptions {
  deps: TaskDeps;
  /** The `apply` handler (the same one the sync machine runs). */
  apply: LambdaHandler;
  /** Batches in flight per Map. */
  concurrency?: number;
}

/**
 * Starts repository tasks in this process: each task is one execution of
 * the repository-task ASL on a LocalTaskMachine, in the background (as
 * StartExecution returns at once on AWS).
 */
export class LocalTaskRunner {
  readonly #machine: LocalTaskMachine;
  readonly #runs = new Map<string, Promise<void>>();

  private constructor(machine: LocalTaskMachine) {
    this.#machine = machine;
  }

  static async create(options: LocalTaskRunnerOptions): Promise<LocalTaskRunner> {
    const definition = JSON.parse(await readFile(TASK_ASL, 'utf8'));
    return new LocalTaskRunner(
      new LocalTaskMachine({
        definition,
        store: options.deps.store,
        concurrency: options.concurrency,
        handlers: {
          ListFunctionArn: listFunction(options.deps),
          ApplyFunctionArn: options.apply,
          ReportFunctionArn: reportFunction(options.deps),
        },
      }),
    );
  }

  /** Starts the task's execution and returns at once. */
  start(task: RepositoryTask): Promise<void> {
    const run = this.#machine
      .run({ taskId: task.taskId })
      .then(() => undefined)
      .catch((error) => logger.error('repository task failed', { taskId: task.taskId, error }))
      .finally(() => this.#runs.delete(task.taskId));
    this.#runs.set(task.taskId, run);
    return Promise.resolve();
  }

  /** Executions still running. */
  running(): number {
    return this.#runs.size;
  }

  /** Resolves when the task's execution has ended (at once if it is not running here). */
  async finished(taskId: string): Promise<void> {
    await this.#runs.get(taskId);
  }
}
