import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { SyncError } from '../core/errors.ts';
import { ControlClient } from './transport.ts';

/**
 * Talks to a deployed stack: invokes its `control` function with the same
 * JSON payload the local control endpoint takes, and answers the same way
 * (the function's result; a SyncError carrying the function's error code).
 */

/** Serverless names functions `<service>-<stage>-<function>`. */
export function controlFunctionName(stage: string): string {
  return `bucketlink-${stage}-control`;
}

/** What a Node.js Lambda returns as the payload of a failed invocation. */
interface LambdaErrorPayload {
  errorType?: string;
  errorMessage?: string;
}

export interface StageClientOptions {
  stage: string;
  region?: string;
  /** Injected in tests; built from the region (and the usual AWS credential chain) otherwise. */
  client?: LambdaClient;
}

/** A ControlClient for `--stage NAME [--region R]`. */
export class StageClient {
  readonly functionName: string;
  readonly #client: LambdaClient;

  constructor(options: StageClientOptions) {
    if (!/^[A-Za-z0-9-]+$/.test(options.stage))
      throw new SyncError('BadRequest', `stage "${options.stage}" may hold only letters, digits and -`);
    this.functionName = controlFunctionName(options.stage);
    this.#client = options.client ?? new LambdaClient(options.region ? { region: options.region } : {});
  }

  async send(request: Record<string, unknown>): Promise<unknown> {
    let response: InvokeCommandOutput;
    try {
      response = await this.#client.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      );
    } catch (error) {
      const name = (error as Error).name;
      const hint =
        name === 'ResourceNotFoundException'
          ? ' (is the stack deployed in this region? check --stage and --region)'
          : '';
      throw new SyncError(
        name || 'InvokeFailed',
        `cannot invoke ${this.functionName}: ${(error as Error).message}${hint}`,
        {
          cause: error,
        },
      );
    }
    const text = response.Payload ? new TextDecoder().decode(response.Payload) : '';
    const body: unknown = text ? JSON.parse(text) : null;
    if (response.FunctionError) {
      // SyncError sets `name` to its code, and Lambda reports `name` as errorType.
      const failure = (body ?? {}) as LambdaErrorPayload;
      throw new SyncError(
        failure.errorType ?? response.FunctionError,
        failure.errorMessage ?? `${this.functionName} failed (${response.FunctionError})`,
      );
    }
    return body;
  }
}

/** What both transports offer: one control request in, the control function's answer out. */
export interface ControlTransport {
  send(request: Record<string, unknown>): Promise<unknown>;
}

/** Options every management command takes: `--endpoint URL`, or `--stage NAME [--region R]`. */
export interface TargetOptions {
  endpoint: string;
  stage?: string;
  region?: string;
}

/** The deployed stack's control function with --stage, else the local control endpoint. */
export function controlClientFor(options: TargetOptions): ControlTransport {
  return options.stage
    ? new StageClient({ stage: options.stage, region: options.region })
    : new ControlClient(options.endpoint);
}
