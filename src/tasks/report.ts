import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '../adapters/ports.ts';
import { parseDataRepositoryPath } from '../core/association.ts';
import type { RepositoryTask, TaskFailure } from './model.ts';

/** One CSV field per RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The report's header and rows, CRLF-terminated as RFC 4180 asks. */
export const CSV_HEADER = 'FilePath,FileStatus,ErrorCode\r\n';

export function csvRow(failure: TaskFailure): string {
  return `${csvField(failure.path)},FAILED,${csvField(failure.code)}\r\n`;
}

/**
 * Where a task's report files go: `<report path>/task-<id>/` as FSx puts
 * them. The task id already reads `task-<hex>`, so the folder is the id
 * (not `task-task-<hex>/`).
 */
export function reportLocation(task: RepositoryTask): { bucket: string; prefix: string } | undefined {
  if (!task.report) return undefined;
  const { bucket, prefix } = parseDataRepositoryPath(task.report.path);
  return { bucket, prefix: `${prefix}${task.taskId}/` };
}

/**
 * Writes `failures.csv` (failed paths only) and `summary.json`. Rows are
 * spooled to a temp file part by part, so a task with many failures never
 * holds them all in memory; the upload then knows its size.
 */
export async function writeReport(
  store: ObjectStore,
  task: RepositoryTask,
  failures: AsyncIterable<TaskFailure[]>,
): Promise<{ failuresKey: string; summaryKey: string } | undefined> {
  const location = reportLocation(task);
  if (!location) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'bucketlink-report-'));
  try {
    const file = join(dir, 'failures.csv');
    const out = createWriteStream(file);
    const write = async (text: string) => {
      if (!out.write(text)) await once(out, 'drain');
    };
    await write(CSV_HEADER);
    for await (const part of failures) for (const failure of part) await write(csvRow(failure));
    out.end();
    await once(out, 'finish');
    const failuresKey = `${location.prefix}failures.csv`;
    const { size } = await stat(file);
    await store.put(location.bucket, failuresKey, createReadStream(file), { size, metadata: {} });
    const summaryKey = `${location.prefix}summary.json`;
    const summary = JSON.stringify(
      {
        taskId: task.taskId,
        type: task.type,
        associationId: task.associationId,
        lifecycle: task.lifecycle,
        status: task.status,
        failuresReport: `s3://${location.bucket}/${failuresKey}`,
      },
      null,
      2,
    );
    await store.put(location.bucket, summaryKey, summary, { size: Buffer.byteLength(summary), metadata: {} });
    return { failuresKey, summaryKey };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
