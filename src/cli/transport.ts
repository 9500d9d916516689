import { SyncError } from '../core/errors.ts';
import { findToken, TOKEN_HEADER } from '../local/control-token.ts';

/**
 * Talks to the control API of `bucketlink local` (the same payloads the
 * `control` Lambda takes), with the token the runtime published for this
 * endpoint (or BUCKETLINK_TOKEN).
 */
export class ControlClient {
  #token: Promise<string | undefined> | undefined;

  /** `token` when the caller knows it (the runtime itself); found from the endpoint otherwise. */
  constructor(
    private readonly endpoint: string,
    token?: string,
  ) {
    if (token) this.#token = Promise.resolve(token);
  }

  /** Headers every request to this endpoint carries. */
  async headers(): Promise<Record<string, string>> {
    this.#token ??= findToken(this.endpoint);
    const token = await this.#token;
    return token ? { [TOKEN_HEADER]: token } : {};
  }

  async send(request: Record<string, unknown>): Promise<unknown> {
    return this.request('/control', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  }

  /** GET /status: the runtime's counters and recent problems. */
  async status(): Promise<unknown> {
    return this.request('/status', { method: 'GET' });
  }

  async request(path: string, init: RequestInit): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.endpoint), {
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...(await this.headers()) },
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
