import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { TOKEN_HEADER, tokenMatches } from './control-token.ts';

/**
 * Who may talk to the control API. A web page the user visits can send the
 * port a "simple" cross-site request (no preflight: text/plain body, no
 * custom header), and DNS rebinding can make such a page same-origin with a
 * name of the attacker's choosing. So every request must:
 * - name the server by an IP literal, `localhost` or this machine's name in
 *   `Host` (a rebinding page carries its own domain there);
 * - carry no `Origin`, or one naming this server (a foreign page's fetch
 *   carries its own);
 * - carry the token (a header a cross-site page cannot set without a
 *   preflight this server never answers; or the status page's cookie);
 * - and, with a body, declare it JSON (a simple request cannot).
 */

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

export interface GuardOptions {
  token: string;
  /** The host the server is bound to (a name given with --host is allowed in Host). */
  boundHost: string;
  port: number;
  /** The token's value from the status page's session cookie, if the request has a valid one. */
  sessionToken?(request: IncomingMessage): string | undefined;
}

const JSON_TYPES = new Set(['application/json', 'application/x-amz-json-1.1']);

function hostAllowed(hostHeader: string, options: GuardOptions): boolean {
  let url: URL;
  try {
    url = new URL(`http://${hostHeader}`);
  } catch {
    return false;
  }
  const name = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(url.port || 80);
  if (port !== options.port) return false;
  return (
    isIP(name) !== 0 ||
    name === 'localhost' ||
    name === options.boundHost.toLowerCase() ||
    name === hostname().toLowerCase()
  );
}

/** Why a request is refused, or undefined when it may proceed. `needsToken` is false only for the login route. */
export function refusal(
  request: IncomingMessage,
  options: GuardOptions,
  needsToken = true,
): Refusal | undefined {
  const host = request.headers.host;
  if (!host || !hostAllowed(host, options))
    return { status: 403, code: 'ForbiddenHost', message: `Host ${host ?? '(none)'} is not this server` };
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      const url = new URL(origin);
      if (url.protocol === 'http:') originHost = url.host;
    } catch {}
    if (!originHost || !hostAllowed(originHost, options))
      return { status: 403, code: 'ForbiddenOrigin', message: `Origin ${origin} may not use this server` };
  }
  if (needsToken) {
    const given = request.headers[TOKEN_HEADER];
    const header = Array.isArray(given) ? given[0] : given;
    if (!tokenMatches(options.token, header) && !tokenMatches(options.token, options.sessionToken?.(request)))
      return {
        status: 401,
        code: 'Unauthorized',
        message: `missing or wrong control token (${TOKEN_HEADER}); run the CLI as the user who started \`bucketlink local\`, or set BUCKETLINK_TOKEN to the content of <state>/control-token`,
      };
  }
  if (request.method === 'POST') {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_TYPES.has(type))
      return {
        status: 415,
        code: 'UnsupportedMediaType',
        message: `the body must be application/json, not ${type || '(none)'}`,
      };
  }
  return undefined;
}
