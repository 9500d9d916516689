import { describe, expect, it } from 'vitest';
import { LocalPipe } from '../../../src/local/pipe.ts';
import { RuntimeStatus } from '../../../src/local/status.ts';
import { PathCounter, statusView } from '../../../src/local/status-view.ts';

const association = {
  associationId: 'dra-1',
  fileSystemPath: '/a',
  dataRepositoryPath: 's3://a/',
  autoImport: [],
  autoExport: [],
  batchImportMetaDataOnCreate: true,
  conflictPolicy: 'KEEP_BOTH' as const,
  lifecycle: 'AVAILABLE' as const,
  creationTime: '2026-01-01T00:00:00Z',
};

describe('the age of the oldest change not yet synced', () => {
  it('counts from when the oldest undelivered message was sent, per association, until it is delivered', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pipe = new LocalPipe({ target: async () => blocked.then(() => null), windowMs: 0 });
    const sentAt = Date.now();
    pipe.send({ n: 1 }, 'dra-1');
    pipe.send({ n: 2 }, 'dra-1');
    pipe.send({ n: 3 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const view = statusView(
      {
        status: new RuntimeStatus(),
        associations: [association],
        pending: pipe.pending(),
        watcherPending: 2,
        pipe: pipe.stats(),
        idle: false,
        tasks: [],
        pathsInSync: new PathCounter({ list: async function* () {} }),
      },
      sentAt + 1500,
    );
    expect(view.pending).toMatchObject({ changes: 5, queued: 3, watcher: 2, oldestAgeSeconds: 1.5 });
    expect(view.associations[0]).toMatchObject({ pendingChanges: 2, oldestPendingAgeSeconds: 1.5 });

    release();
    await pipe.drain();
    expect(pipe.pending().size).toBe(0);
  });
});
