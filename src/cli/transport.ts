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
    checkEndpoint(endpoint);
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
    const body = (await controlAnswer(response, this.endpoint)) as {
      error?: { code: string; message: string };
    };
    if (!response.ok || body.error) {
      throw new SyncError(
        body.error?.code ?? `HTTP${response.status}`,
        body.error?.message ?? response.statusText,
      );
    }
    return body;
  }
}

/** `--endpoint` must be an http(s) URL: `127.0.0.1:4567` is not (and `localhost:4567` would parse as a scheme). */
export function checkEndpoint(endpoint: string, flag = '--endpoint'): void {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new SyncError(
      'BadRequest',
      `${flag} ${endpoint} is not an http:// URL: pass e.g. http://${endpoint.replace(/^[a-z]+:\/\//i, '')}`,
    );
}

/** The control API answers JSON; anything else (the S3 port's XML, a web page) is the wrong endpoint. */
async function controlAnswer(response: Response, endpoint: string): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    const type = response.headers.get('content-type') ?? 'no content type';
    throw new SyncError(
      'BadRequest',
      `${endpoint} is not a bucketlink control endpoint (it answered HTTP ${response.status}, ${type}; the S3 port?): pass the controlEndpoint \`bucketlink local\` prints, by default http://127.0.0.1:4567`,
    );
  }
}
