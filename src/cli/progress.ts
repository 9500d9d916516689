import type { RepositoryTask } from '../tasks/model.ts';
import { FINAL_LIFECYCLES } from '../tasks/model.ts';

/**
 * What a waiting `tasks create --wait` / `tasks wait` shows for a task, from
 * the polls it made. Until Start has listed the task's items (totalCount
 * still 0 while the task runs) there is no total to show, so the line says
 * it is listing instead of `0/1 items`; the rate counts from the first poll
 * that knew the total, so the time spent listing does not dilute it, and
 * there is no ETA until a rate exists.
 */
export class TaskProgress {
  #since?: { at: number; done: number };

  /** One line for the task as polled at `now` (ms). */
  line(task: RepositoryTask, now: number, bytes: string): string {
    const { totalCount, succeededCount, failedCount } = task.status;
    const done = succeededCount + failedCount;
    const head = `${task.taskId} ${task.lifecycle}`;
    if (totalCount === 0 && done === 0 && !FINAL_LIFECYCLES.has(task.lifecycle)) {
      return `${head} listing the task's items…`;
    }
    this.#since ??= { at: now, done };
    const seconds = (now - this.#since.at) / 1000;
    const rate = seconds >= 1 ? (done - this.#since.done) / seconds : undefined;
    const total = Math.max(totalCount, done);
    const eta = rate === undefined || rate <= 0 ? '' : ` | ETA ${formatSeconds((total - done) / rate)}`;
    const failed = failedCount > 0 ? ` (${failedCount} failed)` : '';
    return (
      `${head} ${bar(done, total)} ${done}/${total} items${failed} | ${bytes}` +
      ` | ${rate === undefined ? '…' : rate.toFixed(0)} items/s${eta}`
    );
  }
}

const WIDTH = 30;

function bar(done: number, total: number): string {
  const filled = total > 0 ? Math.round((done / total) * WIDTH) : WIDTH;
  return `[${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}]`;
}

function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
