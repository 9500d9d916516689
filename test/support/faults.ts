import type { Readable } from 'node:stream';
import type {
  Acquired,
  DeleteBudgetStore,
  FileTree,
  Lease,
  Ledger,
  LedgerWrite,
  ObjectStore,
} from '../../src/adapters/ports.ts';
import { LedgerConflictError, TransientError } from '../../src/core/errors.ts';

/**
 * Failure-injecting wrappers around the ports `apply` talks through, as
 * mountpoint-s3 wraps its object client: the real adapter does the work and
 * the wrapper decides, from a seeded random source, whether a call fails
 * before it reaches the peer (503 SlowDown), after the peer acted but before
 * the caller heard back (a connection reset), or whether the worker "dies"
 * between a transfer and its ledger commit. Production code is untouched.
 */

/** A small seeded PRNG (mulberry32), so a failing case replays exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shared switch and tally for every wrapper of one run. */
export class FaultPlan {
  /** Probability that one port call fails; 0 turns faults off. */
  rate = 0;
  readonly injected = {
    slowDown: 0,
    connectionReset: 0,
    crashBeforeCommit: 0,
    ledgerConflict: 0,
    concurrentAsk: 0,
  };

  constructor(public random: () => number = Math.random) {}

  /** True with probability `rate` (and never while faults are off). */
  strike(): boolean {
    return this.rate > 0 && this.random() < this.rate;
  }
}

/** What a worker dying mid-item looks like to the state machine: an untyped runtime error. */
export class WorkerCrash extends Error {
  constructor(what: string) {
    super(`injected crash: ${what}`);
    this.name = 'Runtime.ExitError';
  }
}

/** S3 answered 503 SlowDown: nothing happened on the server. */
function slowDown(plan: FaultPlan, op: string): never {
  plan.injected.slowDown++;
  throw new TransientError(`injected 503 SlowDown on ${op}`);
}

/**
 * Wraps an ObjectStore: reads and writes may fail with SlowDown before the
 * request or ECONNRESET after it (so a put or delete may have happened although
 * the caller sees an error). Listings are left alone: reconcile is fault-free.
 */
export function faultyObjectStore(inner: ObjectStore, plan: FaultPlan): ObjectStore {
  async function call<T>(op: string, run: () => Promise<T>): Promise<T> {
    if (plan.strike()) slowDown(plan, op);
    const value = await run();
    if (plan.strike()) {
      plan.injected.connectionReset++;
      if (value && typeof value === 'object' && 'body' in value) (value as { body: Readable }).body.destroy();
      throw new TransientError(
        `injected ECONNRESET after ${op}`,
        Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      );
    }
    return value;
  }
  return {
    head: (bucket, key) => call('HeadObject', () => inner.head(bucket, key)),
    stat: (bucket, prefix, path, kindHint) =>
      call('HeadObject', () => inner.stat(bucket, prefix, path, kindHint)),
    open: (bucket, prefix, path) => call('GetObject', () => inner.open(bucket, prefix, path)),
    get: (bucket, key, options) => call('GetObject', () => inner.get(bucket, key, options)),
    put: (bucket, key, body, options) => call('PutObject', () => inner.put(bucket, key, body, options)),
    upload: (bucket, key, body) => call('PutObject', () => inner.upload(bucket, key, body)),
    delete: (bucket, key, options) => call('DeleteObject', () => inner.delete(bucket, key, options)),
    copy: (bucket, sourceKey, key, options) =>
      call('CopyObject', () => inner.copy(bucket, sourceKey, key, options)),
    list: (bucket, prefix) => inner.list(bucket, prefix),
    bucketExists: (bucket) => inner.bucketExists(bucket),
  };
}

/**
 * Wraps a DeleteBudgetStore: a call may be throttled before it reaches the
 * table (nothing counted) or lose its answer after the update took effect
 * (the delete is counted although the caller sees an error).
 */
export function faultyDeleteBudgetStore(inner: DeleteBudgetStore, plan: FaultPlan): DeleteBudgetStore {
  async function call<T>(op: string, run: () => Promise<T>): Promise<T> {
    if (plan.strike()) {
      plan.injected.slowDown++;
      throw new TransientError(`injected ThrottlingException on ${op}`);
    }
    const value = await run();
    if (plan.strike()) {
      plan.injected.connectionReset++;
      throw new TransientError(
        `injected ECONNRESET after ${op}`,
        Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      );
    }
    return value;
  }
  return {
    read: (key) => call('GetItem', () => inner.read(key)),
    recordPaths: (key, paths, expiresAt) =>
      call('UpdateItem', () => inner.recordPaths(key, paths, expiresAt)),
    charge: (key, limit, expiresAt) => call('UpdateItem', () => inner.charge(key, limit, expiresAt)),
    clear: (key) => call('DeleteItem', () => inner.clear(key)),
  };
}

/** Runs before a FileTree call; lets a test change the tree between a decision and the write. */
export type TreeHook = (method: keyof FileTree, root: string, path: string) => Promise<void> | void;

/** Wraps a FileTree with a hook before every path operation (used to swap a directory for a symlink). */
export function hookedFileTree(inner: FileTree, before: TreeHook): FileTree {
  const wrap =
    <A extends [string, string, ...unknown[]], R>(method: keyof FileTree, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await before(method, args[0], args[1]);
      return fn.apply(inner, args);
    };
  return {
    stat: wrap('stat', inner.stat),
    sentinelPresent: (root) => inner.sentinelPresent(root),
    writeSentinel: (root, id) => inner.writeSentinel(root, id),
    openForExport: wrap('openForExport', inner.openForExport),
    writeFile: wrap('writeFile', inner.writeFile),
    mkdir: wrap('mkdir', inner.mkdir),
    symlink: wrap('symlink', inner.symlink),
    remove: wrap('remove', inner.remove),
    preserve: wrap('preserve', inner.preserve),
    md5: wrap('md5', inner.md5),
    walk: (root) => inner.walk(root),
  };
}

export interface FaultyLedgerOptions {
  /**
   * Break the merge base on purpose: every lease reads as if the path had
   * never been synced. Only for proving the property test can fail.
   */
  forgetBase?: boolean;
}

/**
 * Wraps a Ledger: a commit may be preceded by a worker crash (the transfer
 * happened, the row was never written and the lease stays held until it
 * expires), by a concurrent worker asking for the same path (it bumps
 * `wanted`, so the holder re-plans), or fail its condition as if a
 * concurrent worker had written the row first.
 */
export function faultyLedger(inner: Ledger, plan: FaultPlan, options: FaultyLedgerOptions = {}): Ledger {
  const forget = (lease: Lease): Lease => (options.forgetBase ? { ...lease, base: undefined } : lease);
  return {
    get: async (id, path) => (options.forgetBase ? undefined : inner.get(id, path)),
    getMany: async (id, paths) =>
      options.forgetBase ? paths.map(() => undefined) : inner.getMany(id, paths),
    findByIno: async (id, ino) => (options.forgetBase ? [] : inner.findByIno(id, ino)),
    acquire: async (id, path, owner, ttlMs): Promise<Acquired> => {
      const got = await inner.acquire(id, path, owner, ttlMs);
      return got.acquired ? { acquired: true, lease: forget(got.lease) } : got;
    },
    commit: async (id, path, lease: Lease, write: LedgerWrite) => {
      if (plan.strike()) {
        plan.injected.crashBeforeCommit++;
        throw new WorkerCrash(`after the transfer of ${path}, before its ledger commit`);
      }
      if (plan.strike()) {
        plan.injected.concurrentAsk++;
        await inner.acquire(id, path, 'concurrent-worker', 1_000);
      }
      if (plan.strike()) {
        plan.injected.ledgerConflict++;
        throw new LedgerConflictError(`injected: ${path} was written by a concurrent worker`);
      }
      return inner.commit(id, path, lease, write);
    },
    release: (id, path, lease) => inner.release(id, path, lease),
    list: (id) => inner.list(id),
    clear: (id) => inner.clear(id),
  };
}

/** One place a worker dies: at a call to one port's method, before it reaches the peer or after it took effect. */
export interface CrashPoint {
  port: 'store' | 'ledger' | 'tree';
  method: string;
  /** Picks the call among the method's calls (e.g. by path); the first call when omitted. */
  when?: (args: unknown[]) => boolean;
  /** 'after': the peer acted (the object is copied, the row written), the worker died before it heard back. */
  at: 'before' | 'after';
}

/** The switch shared by one worker's crashing ports: once it fired, the worker is dead. */
export class Crash {
  /** The crash point was reached (a test asserts it, so a step that is never reached cannot pass silently). */
  fired = false;

  constructor(readonly point: CrashPoint) {}

  #die(what: string): never {
    this.fired = true;
    throw new WorkerCrash(what);
  }

  /**
   * Wraps a port: a dead worker's calls all fail (a killed process does
   * nothing more, so it releases no lease and writes no row), and the call
   * the crash point names kills it, before or after it acted.
   */
  wrap<T extends object>(port: CrashPoint['port'], inner: T): T {
    return new Proxy(inner, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const name = `${port}.${String(property)}`;
        return (...args: unknown[]) => {
          if (this.fired) this.#die(`${name} called by a dead worker`);
          const { point } = this;
          const hit = point.port === port && point.method === property && (point.when?.(args) ?? true);
          if (hit && point.at === 'before') this.#die(`before ${name}`);
          const result = value.apply(target, args);
          if (!hit) return result;
          return Promise.resolve(result).then(() => this.#die(`after ${name}`));
        };
      },
    });
  }
}
