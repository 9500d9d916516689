import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Association, LedgerEntry } from '../../../src/core/types.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import type { ApplyDeps } from '../../../src/sync/deps.ts';
import { Crash, type CrashPoint } from '../../support/faults.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { taskHarness } from '../tasks/harness.ts';

/**
 * A crash after each step of a file-system rename applied as a server-side
 * move in S3 (src/sync/rename.ts): take both leases (the rows the rename
 * writes before it acts), CopyObject old → new, commit the new row, delete
 * the old key, write the old row's tombstone. The worker dies there — its
 * ports fail from then on, so it releases nothing — and recovery is the
 * event delivered again and a RECONCILE, or a RECONCILE alone. Either way
 * the end state is the renamed path only, once: the new key with the file's
 * bytes, no old key, one present ledger row, no conflict copy.
 */
const OLD = 'docs/old name.txt';
const NEW = 'docs/new name.txt';

const steps: Array<[string, CrashPoint]> = [
  [
    'the intent rows (both leases taken)',
    { port: 'ledger', method: 'acquire', when: (args) => args[1] === OLD, at: 'after' },
  ],
  ['the copy', { port: 'store', method: 'copy', at: 'after' }],
  [
    'the commit of the new row',
    { port: 'ledger', method: 'commit', when: (args) => args[1] === NEW, at: 'after' },
  ],
  ['the delete of the old key', { port: 'store', method: 'delete', at: 'after' }],
  [
    'the delete of the old row (its tombstone)',
    { port: 'ledger', method: 'commit', when: (args) => args[1] === OLD, at: 'after' },
  ],
];
const recoveries = ['the event delivered again, then a RECONCILE', 'a RECONCILE alone'] as const;

describe('a crash during a rename', () => {
  let stack: Stack;
  let count = 0;

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('renames');
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** A RECONCILE task as it ships (the repository-task ASL, Prepare, Apply): every apply result. */
  async function reconcile(association: Association, deps: ApplyDeps) {
    const tasks = await taskHarness(stack, { applyDeps: deps });
    const task = await tasks.run({ type: 'RECONCILE', associationId: association.associationId });
    expect(task.lifecycle, task.failureDetails?.message).toBe('SUCCEEDED');
    return tasks.results;
  }

  async function rows(association: Association): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for await (const page of stack.adapters.ledger.list(association.associationId)) out.push(...page);
    return out;
  }

  async function objects(prefix: string): Promise<Record<string, string>> {
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: 'renames', Prefix: prefix }));
    const out: Record<string, string> = {};
    for (const { Key } of listed.Contents ?? []) {
      const object = await stack.s3.send(new GetObjectCommand({ Bucket: 'renames', Key: Key! }));
      out[Key!.slice(prefix.length)] = await object.Body!.transformToString();
    }
    return out;
  }

  describe.each(recoveries)('recovered by %s', (recovery) => {
    it.each(steps)('leaves the renamed path only, once, after a crash after %s', async (_step, point) => {
      const n = count++;
      const prefix = `r${n}/`;
      const association = await stack.associate(`/rename-${n}`, `s3://renames/${prefix}`);
      const root = join(stack.root, `rename-${n}`);
      const item = (path: string) => ({ associationId: association.associationId, path, messageIds: [] });
      const content = `the bytes of a renamed file, case ${n}\n`;
      await mkdir(join(root, 'docs'), { recursive: true });
      await writeFile(join(root, OLD), content);
      expect(await applyItem(item(OLD), stack.applyDeps())).toMatchObject({
        action: 'export',
        outcome: 'done',
      });
      await rename(join(root, OLD), join(root, NEW));
      const conflictsBefore = stack.conflicts.length;

      // The worker that dies: its leases lapse at once (as they would after the TTL).
      const crash = new Crash(point);
      const doomed = stack.applyDeps('doomed');
      const dying: ApplyDeps = {
        ...doomed,
        store: crash.wrap('store', doomed.store),
        ledger: crash.wrap('ledger', doomed.ledger),
        leaseTtlMs: 1,
      };
      await expect(applyItem({ ...item(NEW), renamedFrom: OLD }, dying)).rejects.toThrow(/injected crash/);
      expect(crash.fired).toBe(true);

      const rescuer = stack.applyDeps('rescuer');
      if (recovery === recoveries[0]) {
        const again = await applyItem({ ...item(NEW), renamedFrom: OLD }, rescuer);
        expect(['done', 'unchanged']).toContain(again.outcome);
      }
      const repaired = await reconcile(association, rescuer);
      expect(repaired.filter((r) => !['done', 'unchanged'].includes(r.outcome))).toEqual([]);

      expect(await objects(prefix)).toEqual({ [NEW]: content });
      expect(await readdir(join(root, 'docs'))).toEqual(['new name.txt']);
      expect(await readFile(join(root, NEW), 'utf8')).toBe(content);
      const present = (await rows(association)).filter((row) => row.state === 'present');
      expect(present.map((row) => row.path).sort()).toEqual(['docs', NEW].sort());
      expect(present.filter((row) => row.kind === 'file').map((row) => row.path)).toEqual([NEW]);
      expect(stack.conflicts.length).toBe(conflictsBefore);
      // Once: a further pass has nothing left to do.
      const quiet = await reconcile(association, rescuer);
      expect(quiet.filter((r) => r.outcome !== 'unchanged')).toEqual([]);
    });
  });
});
