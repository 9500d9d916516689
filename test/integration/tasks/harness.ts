import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { FileTree, ObjectStore } from '../../../src/adapters/ports.ts';
import type { ApplyResult } from '../../../src/core/types.ts';
import { applyFunction } from '../../../src/handlers.ts';
import type { ApplyDeps } from '../../../src/sync/deps.ts';
import { createTask, describeTasks } from '../../../src/tasks/control.ts';
import { LocalTaskRunner } from '../../../src/tasks/local-runner.ts';
import type { CreateTaskInput, RepositoryTask } from '../../../src/tasks/model.ts';
import { taskDeps } from '../../../src/wiring.ts';
import type { Stack } from '../../support/stack.ts';

export const MANIFEST_BUCKET = 'bucketlink-tasks';

/**
 * Repository tasks over a test stack: the real ASL on a LocalTaskMachine,
 * the real handlers. `results` collects every apply result of every task.
 */
export async function taskHarness(
  stack: Stack,
  options: {
    tree?: FileTree;
    /** The object store apply transfers through (faults injected here leave Start and Finish alone). */
    applyStore?: ObjectStore;
    retryIntervalMs?: number;
    /** Apply's dependencies (default: the stack's); their ledger is Prepare's too. */
    applyDeps?: ApplyDeps;
  } = {},
) {
  await stack.createBucket(MANIFEST_BUCKET).catch((error: Error) => {
    if (error.name !== 'BucketAlreadyExists' && error.name !== 'BucketAlreadyOwnedByYou') throw error;
  });
  const base = options.applyDeps ?? stack.applyDeps();
  const tree = options.tree ?? base.tree;
  const adapters = { ...stack.adapters, tree, ledger: base.ledger };
  const apply = applyFunction(
    { ...base, tree, store: options.applyStore ?? base.store },
    { retryIntervalMs: options.retryIntervalMs ?? 20 },
  );
  const results: ApplyResult[] = [];
  const runner = await LocalTaskRunner.create({
    deps: taskDeps(stack.config, adapters, MANIFEST_BUCKET),
    apply: async (event: unknown) => {
      const output = await apply(event);
      results.push(...('results' in output ? output.results : [output]));
      return output;
    },
  });
  const control = {
    tasks: adapters.tasks,
    associations: adapters.associations,
    startTask: (task: RepositoryTask) => runner.start(task),
  };
  return {
    runner,
    results,
    create: (input: Omit<CreateTaskInput, 'paths'> & { paths?: string[] }) =>
      createTask({ paths: [], ...input }, control),
    describe: async (taskId: string) => (await describeTasks({ taskIds: [taskId] }, control))[0]!,
    /** Runs a task to its end and returns its final description. */
    async run(input: Omit<CreateTaskInput, 'paths'> & { paths?: string[] }) {
      const task = await createTask({ paths: [], ...input }, control);
      await runner.finished(task.taskId);
      return (await describeTasks({ taskIds: [task.taskId] }, control))[0]!;
    },
  };
}

export async function readObject(stack: Stack, bucket: string, key: string): Promise<string> {
  const object = await stack.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return object.Body!.transformToString();
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
