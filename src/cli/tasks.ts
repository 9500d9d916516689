import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { FINAL_LIFECYCLES, type RepositoryTask, TASK_LIFECYCLES, TASK_TYPES } from '../tasks/model.ts';
import { TaskProgress } from './progress.ts';
import { type ControlTransport, controlClientFor, type TargetOptions } from './stage.ts';
import { endpointOption, regionOption, stageOption, targetFlags } from './target.ts';

/**
 * `bucketlink tasks create|describe|cancel|wait`. Waiting shows a live
 * progress bar (items, bytes, rate, ETA) on a TTY, and one JSON line per
 * poll otherwise, so scripts and CI logs get progress they can parse.
 * Every subcommand goes to `--endpoint` or, with `--stage`, the deployed stack.
 */

const POLL_MS = 500;

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function describeOne(client: ControlTransport, taskId: string): Promise<RepositoryTask> {
  const { tasks } = (await client.send({ action: 'describeTasks', taskIds: [taskId] })) as {
    tasks: RepositoryTask[];
  };
  return tasks[0]!;
}

function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/** The exit status of a process its user stopped with Ctrl-C (128 + SIGINT). */
const INTERRUPTED_EXIT = 130;

/**
 * Polls a task until it ends, showing progress; returns the final task.
 * Ctrl-C stops only the waiting: the task runs on where it runs, and the
 * line printed says so and how to wait for it again.
 */
export async function waitForTask(target: TargetOptions, taskId: string): Promise<RepositoryTask> {
  const client = controlClientFor(target);
  const tty = Boolean(process.stderr.isTTY);
  // The line is ours (src/cli/progress.ts); cli-progress only draws it in place.
  const bar = tty
    ? new SingleBar({ format: (_options, _params, payload) => payload.line, stream: process.stderr })
    : undefined;
  const interrupted = () => {
    bar?.stop();
    const again = ['bucketlink', 'tasks', 'wait', taskId, ...targetFlags(target)].join(' ');
    process.stderr.write(
      `bucketlink: Interrupted: task ${taskId} goes on (Ctrl-C stopped only the waiting); wait for it again with: ${again}\n`,
    );
    process.exit(INTERRUPTED_EXIT);
  };
  process.once('SIGINT', interrupted);
  try {
    return await poll(client, taskId, bar);
  } finally {
    process.off('SIGINT', interrupted);
  }
}

async function poll(
  client: ControlTransport,
  taskId: string,
  bar: SingleBar | undefined,
): Promise<RepositoryTask> {
  const progress = new TaskProgress();
  const started = Date.now();
  let task = await describeOne(client, taskId);
  bar?.start(1, 0, { line: progress.line(task, Date.now(), '0 B') });
  for (;;) {
    if (bar) {
      bar.update(0, { line: progress.line(task, Date.now(), humanBytes(task.status.transferredBytes)) });
    } else {
      const done = task.status.succeededCount + task.status.failedCount;
      const rate = (done / Math.max((Date.now() - started) / 1000, 0.001)).toFixed(0);
      process.stderr.write(
        `${JSON.stringify({ taskId, lifecycle: task.lifecycle, ...task.status, itemsPerSecond: Number(rate) })}\n`,
      );
    }
    if (FINAL_LIFECYCLES.has(task.lifecycle)) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    task = await describeOne(client, taskId);
  }
  bar?.stop();
  return task;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Exit status of a waited-for task: 0 when it SUCCEEDED. */
function exitCodeOf(task: RepositoryTask): number {
  return task.lifecycle === 'SUCCEEDED' ? 0 : 1;
}

export function tasksCommand(): Command {
  const tasks = new Command('tasks').description('repository tasks: bulk import, export and reconcile');

  tasks
    .command('create')
    .description('start a task over one association')
    .addOption(new Option('--type <type>', 'what the task does').choices(TASK_TYPES).makeOptionMandatory())
    .requiredOption('--association <id>', 'the association (dra-…)')
    .option(
      '--paths <paths>',
      'comma-separated paths to narrow the task: file-system paths under the association (/demo/docs) or paths relative to it (docs)',
      list,
    )
    .option('--report <s3url>', 'write task-<id>/failures.csv and summary.json under this S3 path')
    .option('--wait', 'wait for the task to end, showing progress')
    .addOption(endpointOption())
    .addOption(stageOption())
    .addOption(regionOption())
    .action(async (options) => {
      const { task } = (await controlClientFor(options).send({
        action: 'createTask',
        type: options.type,
        associationId: options.association,
        ...(options.paths ? { paths: options.paths } : {}),
        ...(options.report ? { reportPath: options.report } : {}),
      })) as { task: RepositoryTask };
      if (!options.wait) return print({ task });
      const final = await waitForTask(options, task.taskId);
      print({ task: final });
      process.exitCode = exitCodeOf(final);
    });

  tasks
    .command('describe')
    .description('show tasks (all, or the given IDs), newest first')
    .argument('[ids...]')
    .option('--association <id>', 'only tasks of this association')
    .addOption(
      new Option(
        '--lifecycle <states>',
        `only these lifecycles (comma-separated: ${TASK_LIFECYCLES.join(',')})`,
      ).argParser(list),
    )
    .addOption(endpointOption())
    .addOption(stageOption())
    .addOption(regionOption())
    .action(async (ids: string[], options) => {
      print(
        await controlClientFor(options).send({
          action: 'describeTasks',
          ...(ids.length ? { taskIds: ids } : {}),
          ...(options.association ? { associationId: options.association } : {}),
          ...(options.lifecycle ? { lifecycles: options.lifecycle } : {}),
        }),
      );
    });

  tasks
    .command('cancel')
    .description('cancel a task: queued items are skipped, in-flight ones finish')
    .argument('<id>')
    .addOption(endpointOption())
    .addOption(stageOption())
    .addOption(regionOption())
    .action(async (id: string, options) => {
      print(await controlClientFor(options).send({ action: 'cancelTask', taskId: id }));
    });

  tasks
    .command('wait')
    .description('wait for a task to end, showing progress; exits non-zero unless it SUCCEEDED')
    .argument('<id>')
    .addOption(endpointOption())
    .addOption(stageOption())
    .addOption(regionOption())
    .action(async (id: string, options) => {
      const final = await waitForTask(options, id);
      print({ task: final });
      process.exitCode = exitCodeOf(final);
    });

  return tasks;
}
