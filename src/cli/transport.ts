import { SyncError } from '../core/errors.ts';

/** Talks to the control API of `bucketlink local` (the same payloads the `control` Lambda takes). */
export class ControlClient {
  constructor(private readonly endpoint: string) {
    checkEndpoint(endpoint);
  }

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
