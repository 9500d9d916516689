import './polyfill.ts';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import { SyncError } from '../core/errors.ts';

/**
 * Runs the project's ASL files on one machine with aws-local-stepfunctions,
 * Lambda invocations mapped to in-process handlers. The definitions are the
 * deployed ones, with `${XxxFunctionArn}` DefinitionSubstitutions left in:
 * each placeholder names the handler to call.
 *
 * Errors reach Retry/Catch as they do on AWS: aws-local-stepfunctions
 * matches `ErrorEquals` against the thrown error's `name` and puts its
 * `message` in `Cause`, so a handler error becomes an error named after the
 * handler error's `name` (a SyncError's code) whose Cause is the JSON the
 * Lambda Node.js runtime reports: `{"errorType","errorMessage","trace"}`.
 */

/** A Lambda handler as the state machine sees it: the Task's Payload in, the function's result out. */
export type LambdaHandler = (payload: unknown) => Promise<unknown>;

export interface LocalStateMachineOptions {
  /** The parsed ASL, placeholders and all. */
  definition: object;
  /** Keyed by placeholder name (`PlanFunctionArn` for `${PlanFunctionArn}`). */
  handlers: Record<string, LambdaHandler>;
  /** Other service integrations, keyed by the Task's Resource (e.g. `arn:aws:states:::events:putEvents`). */
  integrations?: Record<string, (input: unknown) => Promise<unknown>>;
  /** Tests only: every retry waits this long instead of IntervalSeconds × BackoffRate^n. */
  retryIntervalMs?: number;
}

/** An execution that ended in an error no Catch handled; `error`/`errorCause` as StartSyncExecution reports them. */
export class ExecutionFailedError extends SyncError {
  readonly error: string;
  readonly errorCause: string;

  constructor(error: string, errorCause: string, options: { cause?: unknown } = {}) {
    super('ExecutionFailed', `execution failed with ${error}: ${errorCause}`, options);
    this.error = error;
    this.errorCause = errorCause;
  }
}

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const PLACEHOLDER = /^\$\{([^}]+)\}$/;
/** Step Functions' limit on a state's input or output. */
const MAX_PAYLOAD_BYTES = 256 * 1024;
/**
 * aws-local-stepfunctions gives a Task without TimeoutSeconds 60 s; AWS gives
 * it none (only the execution's limit). setTimeout cannot wait longer than
 * 2^31-1 ms, so "no limit" is the longest wait it can express.
 */
const NO_TASK_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

interface StateDefinition {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: unknown[];
  ItemProcessor?: { States: Record<string, StateDefinition> };
  Iterator?: { States: Record<string, StateDefinition> };
  Branches?: Array<{ States: Record<string, StateDefinition> }>;
}

/** Every state of a definition, nested Map and Parallel states included, with its name. */
function* allStates(states: Record<string, StateDefinition>): Generator<[string, StateDefinition]> {
  for (const [name, state] of Object.entries(states)) {
    yield [name, state];
    const processor = state.ItemProcessor ?? state.Iterator;
    if (state.Type === 'Map' && processor) yield* allStates(processor.States);
    if (state.Type === 'Parallel') for (const branch of state.Branches ?? []) yield* allStates(branch.States);
  }
}

function statesOf(definition: object): Record<string, StateDefinition> {
  const states = (definition as { States?: Record<string, StateDefinition> }).States;
  if (!states) throw new Error('state machine definition has no States');
  return states;
}

/** The Lambda a Task calls: its placeholder name, or the literal function name/ARN if there is none. */
function functionKey(name: string, state: StateDefinition): string | undefined {
  const resource = state.Resource ?? '';
  const literal =
    resource === LAMBDA_INVOKE
      ? state.Parameters?.FunctionName
      : PLACEHOLDER.test(resource)
        ? resource
        : undefined;
  if (resource === LAMBDA_INVOKE && typeof literal !== 'string') {
    throw new Error(
      `Task ${name}: lambda:invoke needs a literal FunctionName (FunctionName.$ is not supported locally)`,
    );
  }
  if (typeof literal !== 'string') return undefined;
  return PLACEHOLDER.exec(literal)?.[1] ?? literal;
}

/** What the handler would see and return over the wire: JSON, nothing shared. */
function overTheWire(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** A handler's failure as the lambda:invoke integration reports it. */
function lambdaError(error: unknown): Error {
  const errorType = error instanceof Error ? error.name || 'Error' : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const trace = error instanceof Error ? (error.stack ?? '').split('\n') : [];
  const taskError = new Error(JSON.stringify({ errorType, errorMessage, trace }));
  taskError.name = errorType;
  return taskError;
}

async function invoke(name: string, handler: LambdaHandler, payload: unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = overTheWire(await handler(overTheWire(payload ?? {})));
  } catch (error) {
    throw lambdaError(error);
  }
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes > MAX_PAYLOAD_BYTES) {
    const error = Object.assign(
      new Error(
        `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit.`,
      ),
      // Terminal on AWS: States.ALL does not catch it, and retrying cannot shrink it.
      { name: 'States.DataLimitExceeded', isRetryable: false, isCatchable: false },
    );
    throw error;
  }
  return result;
}

type TaskOverride = (input: unknown) => Promise<unknown>;

/** One ASL definition bound to local handlers; each `run` is an independent execution. */
export class LocalStateMachine {
  private readonly machine: StateMachine;
  private readonly taskHandlers: Record<string, TaskOverride> = {};
  private readonly retryIntervals: Record<string, number> = {};
  private readonly running = new Set<() => void>();

  constructor(options: LocalStateMachineOptions) {
    const definition = structuredClone(options.definition);
    const missing = new Set<string>();
    const seen = new Set<string>();
    for (const [name, state] of allStates(statesOf(definition))) {
      // Overrides are keyed by state name across all nesting levels, so names must be unique (AWS requires it too).
      if (seen.has(name)) throw new Error(`state name ${name} is used twice`);
      seen.add(name);
      if (state.Retry && options.retryIntervalMs !== undefined)
        this.retryIntervals[name] = options.retryIntervalMs;
      if (state.Type !== 'Task') continue;
      if (state.TimeoutSecondsPath === undefined) {
        state.TimeoutSeconds = Math.min(
          state.TimeoutSeconds ?? NO_TASK_TIMEOUT_SECONDS,
          NO_TASK_TIMEOUT_SECONDS,
        );
      }
      const override = this.bind(name, state, options, missing);
      if (override) this.taskHandlers[name] = override;
    }
    if (missing.size > 0) throw new Error(`no local handler for ${[...missing].sort().join(', ')}`);
    // Placeholders are not ARNs until CloudFormation substitutes them.
    this.machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  }

  private bind(
    name: string,
    state: StateDefinition,
    options: LocalStateMachineOptions,
    missing: Set<string>,
  ): TaskOverride | undefined {
    const resource = state.Resource ?? '';
    const integration = options.integrations?.[resource];
    if (integration) return (input) => integration(overTheWire(input)).then(overTheWire);
    const key = functionKey(name, state);
    if (key === undefined) throw new Error(`Task ${name}: no local handler for resource ${resource}`);
    const handler = options.handlers[key];
    if (!handler) {
      missing.add(key);
      return undefined;
    }
    if (resource !== LAMBDA_INVOKE) return (input) => invoke(name, handler, input);
    return async (input) => {
      const payload = await invoke(name, handler, (input as { Payload?: unknown } | null)?.Payload);
      // The integration's result, as on AWS (minus the SDK's HTTP metadata).
      return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
    };
  }

  /** Runs one execution to its end; rejects with ExecutionFailedError when an error escapes every Catch. */
  async run(input: unknown): Promise<unknown> {
    const execution = this.machine.run(overTheWire(input) as never, {
      overrides: {
        taskResourceLocalHandlers: this.taskHandlers as never,
        retryIntervalOverrides: this.retryIntervals,
      },
    });
    this.running.add(execution.abort);
    try {
      return await execution.result;
    } catch (error) {
      throw toExecutionFailure(error);
    } finally {
      this.running.delete(execution.abort);
    }
  }

  /** Aborts every execution of this machine still running; their `run` rejects with `ExecutionAborted`. */
  abort(): void {
    for (const abort of this.running) abort();
  }
}

function toExecutionFailure(error: unknown): ExecutionFailedError {
  if (error instanceof ExecutionAbortedError)
    return new ExecutionFailedError('ExecutionAborted', error.message);
  if (error instanceof ExecutionTimeoutError)
    return new ExecutionFailedError('States.Timeout', error.message);
  const inner = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : error;
  if (inner instanceof Error) return new ExecutionFailedError(inner.name, inner.message, { cause: inner });
  return new ExecutionFailedError('Error', String(inner));
}
