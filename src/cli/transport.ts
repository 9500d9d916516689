import { SyncError } from '../core/errors.ts';

/** Talks to the control API of `bucketlink local` (the same payloads the `control` Lambda takes). */
export class ControlClient {
  constructor(private readonly endpoint: string) {}

  async send(request: Record<string, unknown>): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(new URL('/control', this.endpoint), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
    } catch (error) {
      throw new SyncError(
        'EndpointUnreachable',
        `cannot reach ${this.endpoint} (is \`bucketlink local\` running? set --endpoint or BUCKETLINK_ENDPOINT)`,
        { cause: error },
      );
    }
    const body = (await response.json()) as { error?: { code: string; message: string } };
    if (!response.ok || body.error) {
      throw new SyncError(
        body.error?.code ?? `HTTP${response.status}`,
        body.error?.message ?? response.statusText,
      );
    }
    return body;
  }
}
