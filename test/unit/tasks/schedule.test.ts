import { describe, expect, it } from 'vitest';
import type { AssociationStore, TaskStore } from '../../../src/adapters/ports.ts';
import type { Association } from '../../../src/core/types.ts';
import type { TaskControlDeps } from '../../../src/tasks/control.ts';
import { emptyStatus, type RepositoryTask } from '../../../src/tasks/model.ts';
import { reconcileAvailable } from '../../../src/tasks/schedule.ts';

/** In-memory stand-ins for the two tables, and a starter that records what it started. */
function world(
  associations: Array<Pick<Association, 'associationId' | 'lifecycle'>>,
  tasks: RepositoryTask[],
) {
  const byId = new Map(
    associations.map((a) => [
      a.associationId,
      {
        ...a,
        fileSystemPath: `/${a.associationId}`,
        dataRepositoryPath: `s3://b/${a.associationId}/`,
      } as Association,
    ]),
  );
  const stored = new Map(tasks.map((t) => [t.taskId, t]));
  const started: RepositoryTask[] = [];
  const deps: TaskControlDeps = {
    associations: {
      get: async (id: string) => byId.get(id),
      list: async () => [...byId.values()],
    } as unknown as AssociationStore,
    tasks: {
      create: async (task: RepositoryTask) => {
        stored.set(task.taskId, task);
      },
      get: async (id: string) => stored.get(id),
      list: async () => [...stored.values()],
    } as unknown as TaskStore,
    startTask: async (task) => {
      if (task.associationId === 'dra-broken')
        throw Object.assign(new Error('throttled'), { code: 'Transient' });
      started.push(task);
    },
  };
  return { deps, started };
}

function task(associationId: string, lifecycle: RepositoryTask['lifecycle'], type: RepositoryTask['type']) {
  return {
    taskId: `task-${associationId}-${lifecycle}`,
    type,
    associationId,
    lifecycle,
    paths: [],
    creationTime: new Date(0).toISOString(),
    status: emptyStatus(new Date(0)),
  } satisfies RepositoryTask;
}

describe('the scheduled RECONCILE sweep', () => {
  it('starts one RECONCILE task per available association, over all its paths', async () => {
    const { deps, started } = world(
      [
        { associationId: 'dra-a', lifecycle: 'AVAILABLE' },
        { associationId: 'dra-b', lifecycle: 'AVAILABLE' },
      ],
      [],
    );
    const outcome = await reconcileAvailable(deps);
    expect(started.map((t) => [t.associationId, t.type, t.paths, t.lifecycle])).toEqual([
      ['dra-a', 'RECONCILE', [], 'PENDING'],
      ['dra-b', 'RECONCILE', [], 'PENDING'],
    ]);
    expect(outcome.started.map((s) => s.taskId)).toEqual(started.map((t) => t.taskId));
    expect(outcome.skipped).toEqual([]);
  });

  it('skips associations that are not available, and those whose last sweep still runs', async () => {
    const { deps, started } = world(
      [
        { associationId: 'dra-busy', lifecycle: 'AVAILABLE' },
        { associationId: 'dra-paused', lifecycle: 'MISCONFIGURED' },
        { associationId: 'dra-done', lifecycle: 'AVAILABLE' },
        { associationId: 'dra-exporting', lifecycle: 'AVAILABLE' },
      ],
      [
        task('dra-busy', 'EXECUTING', 'RECONCILE'),
        task('dra-done', 'SUCCEEDED', 'RECONCILE'),
        // Another type of task running does not hold a sweep back.
        task('dra-exporting', 'EXECUTING', 'EXPORT_TO_REPOSITORY'),
      ],
    );
    const outcome = await reconcileAvailable(deps);
    expect(started.map((t) => t.associationId)).toEqual(['dra-done', 'dra-exporting']);
    expect(outcome.skipped).toEqual([
      { associationId: 'dra-busy', reason: 'reconcile-running' },
      { associationId: 'dra-paused', reason: 'association-misconfigured' },
    ]);
  });

  it('still sweeps the other associations when one cannot be started', async () => {
    const { deps, started } = world(
      [
        { associationId: 'dra-broken', lifecycle: 'AVAILABLE' },
        { associationId: 'dra-ok', lifecycle: 'AVAILABLE' },
      ],
      [],
    );
    const outcome = await reconcileAvailable(deps);
    expect(started.map((t) => t.associationId)).toEqual(['dra-ok']);
    expect(outcome.failed.map((f) => f.associationId)).toEqual(['dra-broken']);
  });
});
