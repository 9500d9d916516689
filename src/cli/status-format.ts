/**
 * `bucketlink status` as text: the status page's view in a terminal. Pure:
 * a status view (GET /status?detail=full, or the --stage equivalent) in,
 * lines out, so it is tested without a terminal.
 */

export interface StatusViewLike {
  idle?: boolean;
  generatedAt?: string;
  pending?: { changes: number; oldestAgeSeconds: number | null };
  transfers?: { total: number };
  bytes?: { imported: number; exported: number };
  conflicts?: number;
  failed?: number;
  associations: Array<{
    associationId: string;
    fileSystemPath: string;
    dataRepositoryPath: string;
    lifecycle: string;
    failureDetails?: { message: string } | null;
    pathsInSync?: number | null;
    pendingChanges?: number | null;
    oldestPendingAgeSeconds?: number | null;
    transfersLastMinute?: number | null;
    bytes?: { imported: number; exported: number } | null;
    conflicts?: number | null;
    failed?: number | null;
  }>;
  tasks?: Array<{
    taskId: string;
    type: string;
    lifecycle: string;
    status: { totalCount: number; succeededCount: number; failedCount: number };
  }>;
  recentConflicts?: Array<{ at: string; path: string; resolution: string }>;
  problems?: Array<{ at: string; path?: string; key?: string; code: string }>;
}

const dash = (value: number | null | undefined, format: (n: number) => string = String) =>
  value === null || value === undefined ? '–' : format(value);

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatAge(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} m`;
}

function table(header: string[], rows: string[][], right: Set<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function formatStatus(view: StatusViewLike): string {
  const lines: string[] = [];
  const summary = [
    view.idle === undefined ? undefined : view.idle ? 'idle' : 'syncing',
    view.pending
      ? `pending ${view.pending.changes} (oldest ${dash(view.pending.oldestAgeSeconds, formatAge)})`
      : undefined,
    view.transfers ? `transfers ${view.transfers.total}` : undefined,
    view.bytes
      ? `in ${formatBytes(view.bytes.imported)} / out ${formatBytes(view.bytes.exported)}`
      : undefined,
    view.conflicts === undefined ? undefined : `conflicts ${view.conflicts}`,
    view.failed === undefined ? undefined : `failed ${view.failed}`,
  ].filter(Boolean);
  lines.push(`bucketlink  ${summary.join(' | ')}${view.generatedAt ? `  (${view.generatedAt})` : ''}`, '');
  const associations = [...view.associations].sort((a, b) =>
    a.fileSystemPath.localeCompare(b.fileSystemPath),
  );
  lines.push(
    ...table(
      [
        'ASSOCIATION',
        'FILE SYSTEM',
        'REPOSITORY',
        'LIFECYCLE',
        'IN SYNC',
        'PENDING',
        'OLDEST',
        'XFER/MIN',
        'IN / OUT',
        'CONFLICTS',
        'FAILED',
      ],
      associations.map((a) => [
        a.associationId,
        a.fileSystemPath,
        a.dataRepositoryPath,
        a.lifecycle,
        dash(a.pathsInSync),
        dash(a.pendingChanges),
        dash(a.oldestPendingAgeSeconds, formatAge),
        dash(a.transfersLastMinute),
        a.bytes ? `${formatBytes(a.bytes.imported)} / ${formatBytes(a.bytes.exported)}` : '–',
        dash(a.conflicts),
        dash(a.failed),
      ]),
      new Set([4, 5, 6, 7, 8, 9, 10]),
    ),
  );
  for (const a of associations)
    if (a.failureDetails) lines.push(`  ${a.associationId} ${a.lifecycle}: ${a.failureDetails.message}`);
  if (view.tasks?.length) {
    lines.push('', 'TASKS');
    for (const task of view.tasks.slice(0, 10)) {
      const { totalCount, succeededCount, failedCount } = task.status;
      const done = succeededCount + failedCount;
      const fraction = totalCount ? done / totalCount : task.lifecycle === 'SUCCEEDED' ? 1 : 0;
      lines.push(
        `  ${task.taskId}  ${task.type.padEnd(22)} ${task.lifecycle.padEnd(10)} ${bar(fraction)} ${Math.round(
          fraction * 100,
        )
          .toString()
          .padStart(3)} %  ${done}/${totalCount}`,
      );
    }
  }
  const conflicts = (view.recentConflicts ?? []).slice(-5).reverse();
  if (conflicts.length) {
    lines.push('', 'LAST CONFLICTS');
    for (const c of conflicts) lines.push(`  ${c.at}  ${c.path}  ${c.resolution}`);
  }
  const problems = (view.problems ?? []).slice(-5).reverse();
  if (problems.length) {
    lines.push('', 'LAST FAILURES');
    for (const p of problems) lines.push(`  ${p.at}  ${p.path ?? p.key ?? ''}  ${p.code}`);
  }
  return `${lines.join('\n')}\n`;
}
