import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncError } from '../core/errors.ts';

/**
 * One `bucketlink local` per state directory. dynalite's database under it
 * takes one process (a second one fails later with "Database is closed"),
 * so the runtime takes `<state>/runtime.pid` first. A lock whose pid is dead
 * (a killed runtime) is taken over.
 */

const LOCK_NAME = 'runtime.pid';

export class StateDirectoryInUseError extends SyncError {
  constructor(state: string, pid: number) {
    super(
      'StateDirectoryInUse',
      `state directory ${state} is in use by pid ${pid} (another bucketlink local): stop it or pass another --state`,
    );
  }
}

export interface StateLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function holder(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Takes the state directory's lock, or throws StateDirectoryInUseError naming the live holder. */
export async function lockStateDirectory(state: string): Promise<StateLock> {
  const path = join(state, LOCK_NAME);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const file = await open(path, 'wx', 0o644);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return held(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = await holder(path);
    if (pid !== undefined && alive(pid)) throw new StateDirectoryInUseError(state, pid);
    // Stale (its process is gone) or half-written: move it aside, and make sure what was moved is
    // the stale lock and not a fresh one a concurrent starter just took.
    const aside = `${path}.${process.pid}.stale`;
    try {
      await rename(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await holder(aside);
    if (moved !== pid && moved !== undefined && alive(moved)) {
      await rename(aside, path).catch(() => undefined);
      throw new StateDirectoryInUseError(state, moved);
    }
    await unlink(aside).catch(() => undefined);
  }
  throw new SyncError('StateDirectoryInUse', `could not take the lock of state directory ${state}`);
}

function held(path: string): StateLock {
  const releaseSync = () => {
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  // However the process ends (an error after start-up, process.exit), a live lock is not left behind.
  process.once('exit', releaseSync);
  return {
    async release() {
      process.off('exit', releaseSync);
      releaseSync();
    },
  };
}
