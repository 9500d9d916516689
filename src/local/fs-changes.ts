import { hostname } from 'node:os';
import { LustreChangelogReader } from '../agent/changelog.ts';
import { changeEvent, groupChanges, sequence } from '../agent/coalesce.ts';
import { FileSystemWatcher } from '../agent/watch.ts';
import type { SyncEvent } from '../core/events.ts';
import { logger } from '../log.ts';

/**
 * Where local mode hears of file-system changes: the watcher on the root
 * (inotify), or on a Lustre client the MDT's changelog (`--lustre-mdt`), read
 * by the agent's own reader, so one process serves the node. The changelog
 * reports every client's writes, the watcher only this node's.
 */

export interface LustreSource {
  mdt: string;
  /** The registered changelog user whose records are cleared. */
  user: string;
  lfs?: string;
  pollMs?: number;
}

export interface FsChanges {
  /** Changes seen but not yet handed on. */
  pending(): number;
  close(): Promise<void>;
}

export async function startFsChanges(options: {
  root: string;
  quietMs?: number;
  lustre?: LustreSource;
  emit(event: SyncEvent): void;
}): Promise<FsChanges> {
  if (!options.lustre) {
    const watcher = new FileSystemWatcher({
      root: options.root,
      emit: options.emit,
      quietMs: options.quietMs,
    });
    await watcher.start();
    return { pending: () => watcher.pending(), close: () => watcher.close() };
  }
  const host = hostname();
  const reader = new LustreChangelogReader({
    mdt: options.lustre.mdt,
    user: options.lustre.user,
    lfs: options.lustre.lfs ?? 'lfs',
    mount: options.root,
    nextSeq: sequence(),
    // Records are cleared once this returns: the events are in the pipe, and a crash before
    // they are synced is repaired by the reconcile every start runs.
    submit: async (changes) => {
      for (const group of groupChanges(changes)) options.emit(changeEvent(host, group));
    },
  });
  let reading: Promise<unknown> | undefined;
  const poll = () => {
    reading ??= reader
      .poll()
      .catch((error) => logger.error('changelog read failed', { error: error as Error }))
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  await poll();
  const timer = setInterval(() => void poll(), options.lustre.pollMs ?? 1_000);
  return {
    pending: () => (reading ? 1 : 0),
    async close() {
      clearInterval(timer);
      await reading;
    },
  };
}
