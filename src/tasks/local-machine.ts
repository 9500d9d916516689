import { createInterface } from 'node:readline';
import type { ObjectStore } from '../adapters/ports.ts';
import { type LambdaHandler, LocalStateMachine } from '../local/stepfunctions.ts';

/**
 * Runs the repository-task ASL locally. aws-local-stepfunctions ignores a
 * Distributed Map's ItemReader and ItemBatcher, so each DISTRIBUTED Map is
 * swapped for a local integration that does what Step Functions does on
 * AWS: reads the items (an S3 listing or a JSONL object) page by page,
 * batches them into `{ Items, BatchInput }`, runs the Map's ItemProcessor
 * (the same states, as a child LocalStateMachine) per batch with bounded
 * concurrency, and enforces ToleratedFailurePercentage. Listing, batching
 * and running overlap with backpressure, so memory stays flat.
 */

interface MapState {
  Type: 'Map';
  ItemReader?: {
    Resource: string;
    ReaderConfig?: { InputType?: string };
    Parameters?: Record<string, unknown>;
  };
  ItemBatcher?: {
    MaxItemsPerBatch?: number;
    MaxInputBytesPerBatch?: number;
    BatchInput?: Record<string, unknown>;
  };
  ItemProcessor: { ProcessorConfig?: { Mode?: string }; StartAt: string; States: Record<string, unknown> };
  MaxConcurrency?: number;
  ToleratedFailurePercentage?: number;
  ResultPath?: string | null;
  Catch?: unknown[];
  Next?: string;
  End?: boolean;
}

export interface LocalTaskMachineOptions {
  definition: object;
  handlers: Record<string, LambdaHandler>;
  /** Reads the ItemReader's sources. */
  store: ObjectStore;
  /** Child executions in flight per Map (capped by the Map's MaxConcurrency). */
  concurrency?: number;
  retryIntervalMs?: number;
}

const LOCAL_MAP = 'bucketlink:local:distributedMap:';

/** Resolves `"Key.$": "$.a.b"` (and `$$.…` is not needed here) against an input; plain values pass through. */
export function resolveParameters(
  template: Record<string, unknown>,
  input: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$') && typeof value === 'string') out[key.slice(0, -2)] = jsonPath(input, value);
    else out[key] = value;
  }
  return out;
}

function jsonPath(input: unknown, path: string): unknown {
  if (!path.startsWith('$')) throw new Error(`unsupported path ${path}`);
  let current = input;
  for (const part of path.slice(1).split('.').filter(Boolean)) {
    current = (current as Record<string, unknown> | null)?.[part];
  }
  return current;
}

/** The Map's items, in pages, in the shape its ItemReader hands them to batches on AWS. */
async function* readItems(store: ObjectStore, reader: NonNullable<MapState['ItemReader']>, input: unknown) {
  const parameters = resolveParameters(reader.Parameters ?? {}, input) as {
    Bucket: string;
    Key?: string;
    Prefix?: string;
  };
  if (reader.Resource === 'arn:aws:states:::s3:listObjectsV2') {
    for await (const page of store.list(parameters.Bucket, parameters.Prefix ?? '')) {
      yield page.map((o) => ({
        Key: o.key,
        Size: o.size,
        Etag: `"${o.etag}"`,
        LastModified: o.lastModified,
      }));
    }
    return;
  }
  if (reader.Resource === 'arn:aws:states:::s3:getObject' && reader.ReaderConfig?.InputType === 'JSONL') {
    const { body } = await store.get(parameters.Bucket, parameters.Key!);
    let page: unknown[] = [];
    for await (const line of createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (line.trim() === '') continue;
      page.push(JSON.parse(line));
      if (page.length >= 1000) {
        yield page;
        page = [];
      }
    }
    if (page.length) yield page;
    return;
  }
  throw new Error(`ItemReader ${reader.Resource} is not supported locally`);
}

async function* batches(
  pages: AsyncIterable<unknown[]>,
  batcher: MapState['ItemBatcher'],
  batchInput: unknown,
) {
  const maxItems = batcher?.MaxItemsPerBatch ?? 1;
  const maxBytes = batcher?.MaxInputBytesPerBatch ?? 256 * 1024;
  const overhead = Buffer.byteLength(JSON.stringify({ Items: [], BatchInput: batchInput }));
  let items: unknown[] = [];
  let bytes = overhead;
  for await (const page of pages) {
    for (const item of page) {
      const size = Buffer.byteLength(JSON.stringify(item)) + 1;
      if (items.length > 0 && (items.length >= maxItems || bytes + size > maxBytes)) {
        yield { Items: items, BatchInput: batchInput };
        items = [];
        bytes = overhead;
      }
      items.push(item);
      bytes += size;
    }
  }
  if (items.length) yield { Items: items, BatchInput: batchInput };
}

async function runMap(
  state: MapState,
  child: LocalStateMachine,
  store: ObjectStore,
  input: unknown,
  limit: number,
) {
  const batchInput = resolveParameters(state.ItemBatcher?.BatchInput ?? {}, input);
  const inFlight = new Set<Promise<void>>();
  let runs = 0;
  let failures = 0;
  const slots = Math.max(1, Math.min(limit, state.MaxConcurrency || limit));
  for await (const batch of batches(
    readItems(store, state.ItemReader!, input),
    state.ItemBatcher,
    batchInput,
  )) {
    while (inFlight.size >= slots) await Promise.race(inFlight);
    runs++;
    const run: Promise<void> = child
      .run(batch)
      .then(
        () => undefined,
        () => {
          failures++;
        },
      )
      .finally(() => inFlight.delete(run));
    inFlight.add(run);
  }
  await Promise.all(inFlight);
  const tolerated = state.ToleratedFailurePercentage ?? 0;
  if (runs > 0 && (failures / runs) * 100 > tolerated) {
    const error = new Error(`${failures} of ${runs} child executions failed (tolerated: ${tolerated} %)`);
    error.name = 'States.ExceedToleratedFailureThreshold';
    throw error;
  }
  return { runs, failures };
}

/** The repository-task machine, run locally over the same handlers Lambda runs. */
export class LocalTaskMachine {
  private readonly machine: LocalStateMachine;

  constructor(options: LocalTaskMachineOptions) {
    const definition = structuredClone(options.definition) as { States: Record<string, unknown> };
    const integrations: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [name, raw] of Object.entries(definition.States)) {
      const state = raw as MapState;
      if (state.Type !== 'Map' || state.ItemProcessor.ProcessorConfig?.Mode !== 'DISTRIBUTED') continue;
      const child = new LocalStateMachine({
        definition: { StartAt: state.ItemProcessor.StartAt, States: state.ItemProcessor.States },
        handlers: options.handlers,
        retryIntervalMs: options.retryIntervalMs,
      });
      integrations[`${LOCAL_MAP}${name}`] = (input) =>
        runMap(state, child, options.store, input, options.concurrency ?? 4);
      definition.States[name] = {
        Type: 'Task',
        Resource: `${LOCAL_MAP}${name}`,
        ResultPath: state.ResultPath,
        ...(state.Catch ? { Catch: state.Catch } : {}),
        ...(state.Next ? { Next: state.Next } : { End: true }),
      };
    }
    this.machine = new LocalStateMachine({
      definition,
      handlers: options.handlers,
      integrations,
      retryIntervalMs: options.retryIntervalMs,
    });
  }

  /** One execution (one task) to its end. */
  run(input: { taskId: string }): Promise<unknown> {
    return this.machine.run(input);
  }
}
