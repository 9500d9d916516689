import { AsyncLocalStorage } from 'node:async_hooks';
import { type ObservedService, observeClients } from '../../../src/adapters/observe.ts';

/**
 * Records every AWS call and file-tree operation made while a caller (a
 * function, a state machine) is running, through the seam in
 * src/adapters/observe.ts: a middleware on each SDK client the code builds,
 * a proxy on the file tree. Calls outside any caller (the test's own set-up)
 * are not recorded.
 *
 * Step Functions and EventBridge have no local peer. Their clients get a
 * terminal middleware after the recording one: StartExecution runs the real
 * ASL in process (as `bucketlink local` does) and answers as the service
 * does; PutEvents is accepted. A fault can be injected into the next
 * StartExecution (a failure the service could give, which no peer here can).
 */

export interface Call {
  caller: string;
  service: ObservedService | 'lambda' | 'sqs';
  /** SDK command without `Command` (`BatchGetItem`), or the file tree's method. */
  command: string;
  input: Record<string, unknown>;
}

export interface Recorder {
  calls: Call[];
  /** Runs `work` as `caller`: every call it makes, however deep, is recorded as that caller's. */
  as<T>(caller: string, work: () => Promise<T>): Promise<T>;
  /** Records a call the caller makes without an SDK client (a state machine invoking a Lambda). */
  record(call: Omit<Call, 'caller'>): void;
  close(): void;
}

export interface RecorderOptions {
  /** StartExecution: runs the execution (in the background); the recorder names the caller. */
  startExecution(stateMachineArn: string, input: unknown): void;
  /** Set to an error to fail the next StartExecution with it (consumed). */
  failNextStart?: { error?: Error };
}

/** The tree methods that write; every other one only reads (ClientMount). */
export const TREE_WRITES = new Set([
  'writeSentinel',
  'writeFile',
  'mkdir',
  'symlink',
  'remove',
  'preserve',
  'commitTemp',
  'createTemp',
  'writeRange',
  'setMeta',
  'rename',
]);

// biome-ignore lint/suspicious/noExplicitAny: SDK clients of every service share this shape.
type AnyClient = { middlewareStack: { add(mw: any, options: any): void } };

export function startRecorder(options: RecorderOptions): Recorder {
  const current = new AsyncLocalStorage<string>();
  const calls: Call[] = [];
  const push = (call: Omit<Call, 'caller'>) => {
    const caller = current.getStore();
    if (caller) calls.push({ caller, ...call });
  };

  const observeClient = (service: ObservedService, client: AnyClient) => {
    client.middlewareStack.add(
      // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware signature.
      (next: any, context: any) => async (args: any) => {
        push({ service, command: String(context.commandName).replace(/Command$/, ''), input: args.input });
        return next(args);
      },
      { step: 'initialize', priority: 'high', name: 'bucketlinkRecordCall' },
    );
    if (service !== 'states' && service !== 'events') return;
    client.middlewareStack.add(
      // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware signature.
      (_next: any, context: any) => async (args: any) => {
        const command = String(context.commandName);
        const $metadata = { httpStatusCode: 200 };
        if (command === 'StartExecutionCommand') {
          const fault = options.failNextStart?.error;
          if (fault) {
            options.failNextStart!.error = undefined;
            throw fault;
          }
          const { stateMachineArn, name, input } = args.input;
          options.startExecution(stateMachineArn, JSON.parse(input ?? '{}'));
          const executionArn = `${String(stateMachineArn).replace(':stateMachine:', ':execution:')}:${name ?? 'run'}`;
          return { output: { $metadata, executionArn, startDate: new Date() }, response: {} };
        }
        if (command === 'PutEventsCommand') {
          const entries = (args.input.Entries ?? []) as unknown[];
          return {
            output: {
              $metadata,
              FailedEntryCount: 0,
              Entries: entries.map((_, i) => ({ EventId: `e${i}` })),
            },
            response: {},
          };
        }
        throw new Error(`no local stand-in for ${service} ${command}`);
      },
      { step: 'initialize', priority: 'low', name: 'bucketlinkLocalService' },
    );
  };

  const observeTree = <T extends object>(tree: T): T =>
    new Proxy(tree, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return (...args: unknown[]) => {
          push({ service: 'elasticfilesystem', command: property, input: { root: args[0] } });
          return value.apply(target, args);
        };
      },
    });

  observeClients(<T extends object>(service: ObservedService, target: T): T => {
    if (service === 'elasticfilesystem') return observeTree(target);
    observeClient(service, target as unknown as AnyClient);
    return target;
  });

  return {
    calls,
    as: (caller, work) => current.run(caller, work),
    record: push,
    close: () => observeClients(undefined),
  };
}
