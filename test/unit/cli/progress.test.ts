import { describe, expect, it } from 'vitest';
import { TaskProgress } from '../../../src/cli/progress.ts';
import { emptyStatus, type RepositoryTask, type TaskLifecycle } from '../../../src/tasks/model.ts';

function task(lifecycle: TaskLifecycle, total: number, succeeded: number, failed = 0): RepositoryTask {
  return {
    taskId: 'task-0123456789abcdef0',
    type: 'IMPORT_METADATA_FROM_REPOSITORY',
    associationId: 'dra-1',
    lifecycle,
    paths: [],
    creationTime: '2026-01-01T00:00:00.000Z',
    status: {
      ...emptyStatus(new Date(0)),
      totalCount: total,
      succeededCount: succeeded,
      failedCount: failed,
    },
  };
}

describe('the task progress line', () => {
  it('says the task is listing until the total is known, never 0/1 items', () => {
    const progress = new TaskProgress();
    expect(progress.line(task('PENDING', 0, 0), 0, '0 B')).toBe(
      "task-0123456789abcdef0 PENDING listing the task's items…",
    );
    expect(progress.line(task('EXECUTING', 0, 0), 500, '0 B')).toMatch(/EXECUTING listing/);
  });

  it('shows the real total, then a rate counted from when the total was known, and an ETA', () => {
    const progress = new TaskProgress();
    progress.line(task('EXECUTING', 0, 0), 0, '0 B');
    const first = progress.line(task('EXECUTING', 3000, 0), 10_000, '0 B');
    expect(first).toMatch(/ 0\/3000 items \| 0 B \| … items\/s$/);
    const later = progress.line(task('EXECUTING', 3000, 900, 100), 14_000, '1.2 MiB');
    expect(later).toMatch(/ 1000\/3000 items \(100 failed\) \| 1\.2 MiB \| 250 items\/s \| ETA 8s$/);
    expect(later).not.toMatch(/NaN|Infinity|NF/);
  });

  it('shows a finished empty task as done, not as listing', () => {
    expect(new TaskProgress().line(task('SUCCEEDED', 0, 0), 0, '0 B')).toMatch(/SUCCEEDED \[█+\] 0\/0 items/);
  });
});
