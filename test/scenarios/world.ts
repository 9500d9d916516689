import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ApplyResult, Association } from '../../src/core/types.ts';
import { applyFunction, planFunction, summarizeFunction } from '../../src/handlers.ts';
import { LocalStateMachine } from '../../src/local/stepfunctions.ts';
import type { ApplyDeps } from '../../src/sync/deps.ts';
import { taskHarness } from '../integration/tasks/harness.ts';
import { agentEvent, s3Event, sqsRecord } from '../support/events.ts';
import { FaultPlan, faultyLedger, faultyObjectStore, seededRandom } from '../support/faults.ts';
import type { Stack } from '../support/stack.ts';
import type { Side } from './sides.ts';

const definition = JSON.parse(
  await readFile(new URL('../../statemachines/sync.asl.json', import.meta.url), 'utf8'),
);

/** Short leases, so a crashed worker's lease lapses quickly. */
const LEASE_TTL_MS = 1_500;
/** Delivery rounds before the event stream counts as a loop. */
const MAX_DELIVERIES = 25;
/** Redeliveries of a failed message before SQS dead-letters it. */
const MAX_RECEIVES = 3;

/** A message in the simulated SQS queue. */
interface Message {
  event: unknown;
  receives: number;
  id: string;
}

export interface EventFaults {
  drop: number;
  delay: number;
  duplicate: number;
  /** Probability that one port call fails. */
  port: number;
}

export interface Association2 {
  association: Association;
  side: Side;
}

/**
 * The system under test, in process: the real sync state machine (ASL) over
 * the real handlers, run by two workers whose ports fail as a FaultPlan says,
 * fed by an event queue that duplicates, reorders, delays and drops.
 */
export class World {
  readonly plan: FaultPlan;
  readonly machines: LocalStateMachine[];
  readonly clean: ApplyDeps;
  /** Results of every apply during event delivery. */
  readonly applied: ApplyResult[] = [];
  #delayed: unknown[] = [];
  #random: () => number;
  #tasks?: Awaited<ReturnType<typeof taskHarness>>;

  constructor(
    readonly stack: Stack,
    readonly sides: Association2[],
    options: { forgetBase?: boolean } = {},
  ) {
    this.#random = seededRandom(0);
    this.plan = new FaultPlan(seededRandom(0));
    const ports = (owner: string): ApplyDeps => {
      const deps = stack.applyDeps(owner);
      return {
        ...deps,
        store: faultyObjectStore(deps.store, this.plan),
        ledger: faultyLedger(deps.ledger, this.plan, options),
        leaseTtlMs: LEASE_TTL_MS,
      };
    };
    this.clean = ports('reconciler');
    this.machines = ['worker-a', 'worker-b'].map((owner) => {
      const apply = applyFunction(ports(owner), { retryIntervalMs: 1 });
      return new LocalStateMachine({
        definition,
        handlers: {
          PlanFunctionArn: planFunction(stack.planDeps),
          ApplyFunctionArn: async (event: unknown) => {
            const output = await apply(event);
            this.applied.push(...('results' in output ? output.results : [output]));
            return output;
          },
          SummarizeFunctionArn: summarizeFunction(),
        },
        retryIntervalMs: 1,
      });
    });
  }

  #fate(faults: EventFaults): 'drop' | 'delay' | 'once' | 'twice' {
    const r = this.#random();
    if (r < faults.drop) return 'drop';
    if (r < faults.drop + faults.delay) return 'delay';
    return this.#random() < faults.duplicate ? 'twice' : 'once';
  }

  /**
   * Delivers the round's events (and those delayed from the last round) with
   * faults on, feeding back the echoes the system's own writes would cause,
   * until the queue is empty. Throws when it never empties (a loop).
   */
  async deliver(events: unknown[], faults: EventFaults): Promise<void> {
    this.plan.rate = faults.port;
    let queue: Message[] = [...this.#delayed, ...events].map((event) => ({
      event,
      receives: 0,
      id: randomUUID(),
    }));
    this.#delayed = [];
    for (let round = 0; queue.length > 0; round++) {
      if (round >= MAX_DELIVERIES)
        throw new Error(`events still flowing after ${round} deliveries: a sync loop`);
      const sent: typeof queue = [];
      for (const message of queue) {
        const fate = message.receives === 0 ? this.#fate(faults) : 'once';
        if (fate === 'drop') continue;
        if (fate === 'delay') this.#delayed.push(message.event);
        else sent.push(...(fate === 'twice' ? [message, { ...message, id: randomUUID() }] : [message]));
      }
      shuffle(sent, this.#random);
      const before = this.applied.length;
      const failedIds = new Set<string>();
      const batches = chunk(sent, 1 + Math.floor(this.#random() * 5));
      await Promise.all(
        this.machines.map(async (machine, worker) => {
          for (let i = worker; i < batches.length; i += this.machines.length) {
            const output = (await machine.run(batches[i]!.map((m) => sqsRecord(m.event, m.id)))) as {
              batchItemFailures: Array<{ itemIdentifier: string }>;
            };
            for (const failure of output.batchItemFailures) failedIds.add(failure.itemIdentifier);
          }
        }),
      );
      queue = sent
        .filter((m) => failedIds.has(m.id) && m.receives + 1 < MAX_RECEIVES)
        .map((m) => ({ ...m, receives: m.receives + 1 }));
      queue.push(...this.applied.slice(before).flatMap((result) => this.#echoes(result)));
    }
    this.plan.rate = 0;
  }

  /** What a watcher and S3 notifications report after the system's own write. */
  #echoes(result: ApplyResult): Message[] {
    if (result.outcome !== 'done') return [];
    const { side } = this.sides.find((s) => s.association.associationId === result.associationId)!;
    return [
      agentEvent(side, result.path, 'modified'),
      s3Event('Object Created', side.bucket, side.prefix + result.path, { reason: 'CopyObject' }),
    ].map((event) => ({ event, receives: 0, id: randomUUID() }));
  }

  /**
   * One RECONCILE task over every association with faults off, as it ships:
   * the repository-task ASL (Start, the file and object passes, Prepare's
   * precheck, Apply, Tally, Finish) on the local machine. Returns every
   * apply result; a path Prepare found in sync has none (it moved nothing).
   */
  async reconcile(): Promise<ApplyResult[]> {
    this.plan.rate = 0;
    this.#tasks ??= await taskHarness(this.stack, { applyDeps: this.clean });
    const tasks = this.#tasks;
    const before = tasks.results.length;
    for (const { association } of this.sides) {
      const task = await tasks.run({ type: 'RECONCILE', associationId: association.associationId });
      if (task.lifecycle !== 'SUCCEEDED') {
        throw new Error(
          `RECONCILE of ${association.associationId} ended ${task.lifecycle}: ${task.failureDetails?.message}`,
        );
      }
    }
    return tasks.results.slice(before);
  }

  /** Lets leases held by crashed workers lapse, as they would before a scheduled RECONCILE. */
  async waitForLeases(): Promise<void> {
    await sleep(LEASE_TTL_MS + 100);
  }

  /** Empties both sides and the ledger, and seeds the event and port faults, for the next case. */
  async reset(seed: number): Promise<void> {
    this.#random = seededRandom(seed);
    this.plan.random = seededRandom(seed ^ 0x5bd1e995);
    this.#delayed = [];
    this.applied.length = 0;
    for (const { association, side } of this.sides) {
      for (const name of await readdir(side.root)) {
        if (name !== '.bucketlink') await rm(join(side.root, name), { recursive: true, force: true });
      }
      const listed = await this.stack.s3.send(new ListObjectsV2Command({ Bucket: side.bucket }));
      for (const { Key } of listed.Contents ?? []) {
        await this.stack.s3.send(new DeleteObjectCommand({ Bucket: side.bucket, Key: Key! }));
      }
      await this.stack.adapters.ledger.clear(association.associationId);
      // The delete budget counts per association and 10-minute window, in the tasks table: a case
      // must not inherit the deletes of the cases before it (they would pause the association).
      await this.stack.adapters.deleteBudget.reset(association.associationId);
      // A case that failed because it tripped the budget must not fail every case after it.
      const current = await this.stack.adapters.associations.get(association.associationId);
      if (current && current.lifecycle !== 'AVAILABLE') {
        const { failureDetails: _, ...rest } = current;
        await this.stack.adapters.associations.put({ ...rest, lifecycle: 'AVAILABLE' });
      }
    }
  }

  /** Associations no longer AVAILABLE (the delete budget pauses one as MISCONFIGURED), with why. */
  async paused(): Promise<Array<{ associationId: string; lifecycle: string; why?: string }>> {
    const out = [];
    for (const { association } of this.sides) {
      const current = await this.stack.adapters.associations.get(association.associationId);
      if (current?.lifecycle !== 'AVAILABLE') {
        const why = current?.failureDetails?.message;
        out.push({ associationId: association.associationId, lifecycle: String(current?.lifecycle), why });
      }
    }
    return out;
  }
}

/** The property test's stack: two associations, one at a bucket's root and one under a prefix. */
export async function startWorld(stack: Stack, options: { forgetBase?: boolean } = {}): Promise<World> {
  await stack.createBucket('alpha');
  await stack.createBucket('beta');
  const alpha = await stack.associate('/alpha', 's3://alpha/');
  const beta = await stack.associate('/beta', 's3://beta/data/');
  return new World(
    stack,
    [
      {
        association: alpha,
        side: { fileSystemPath: '/alpha', root: join(stack.root, 'alpha'), bucket: 'alpha', prefix: '' },
      },
      {
        association: beta,
        side: { fileSystemPath: '/beta', root: join(stack.root, 'beta'), bucket: 'beta', prefix: 'data/' },
      },
    ],
    options,
  );
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
