import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

/**
 * The status page at `/`: plain HTML, a small script and uPlot served
 * straight from node_modules (no build step). A browser signs in with a
 * one-time code (`bucketlink status --login-url`, or the banner of
 * `bucketlink local --demo`) and gets a session cookie (HttpOnly,
 * SameSite=Strict) that stands for the control token on this server only.
 */

const PAGE_DIR = new URL('./page/', import.meta.url);
const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: URL | string; type: string }> = {
  '/assets/app.js': { file: new URL('app.js', PAGE_DIR), type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: new URL('app.css', PAGE_DIR), type: 'text/css; charset=utf-8' },
  '/assets/uPlot.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript' },
  '/assets/uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
};
export const SESSION_COOKIE = 'bucketlink_session';
const CODE_TTL_MS = 5 * 60_000;

export class StatusPage {
  readonly #codes = new Map<string, number>();
  readonly #sessions = new Set<string>();

  /** A code that signs one browser in, once, within 5 minutes. */
  loginCode(): string {
    const code = randomBytes(24).toString('hex');
    this.#codes.set(code, Date.now() + CODE_TTL_MS);
    return code;
  }

  /** True when the request carries a session cookie this page handed out. */
  hasSession(request: IncomingMessage): boolean {
    const cookies = request.headers.cookie ?? '';
    for (const part of cookies.split(';')) {
      const [name, value] = part.trim().split('=');
      if (name === SESSION_COOKIE && value && this.#sessions.has(value)) return true;
    }
    return false;
  }

  /** Serves `/login`, `/` and `/assets/*`; false when the path is none of them. */
  async serve(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    if (request.method !== 'GET') return false;
    if (url.pathname === '/login') {
      const code = url.searchParams.get('code') ?? '';
      const expires = this.#codes.get(code);
      this.#codes.delete(code);
      if (!expires || expires < Date.now()) {
        text(
          response,
          401,
          'This sign-in link is used or expired. Run `bucketlink status --login-url` for a new one.',
        );
        return true;
      }
      const session = randomBytes(32).toString('hex');
      this.#sessions.add(session);
      response.writeHead(303, {
        location: '/',
        'set-cookie': `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
      });
      response.end();
      return true;
    }
    const asset =
      url.pathname === '/'
        ? { file: new URL('index.html', PAGE_DIR), type: 'text/html; charset=utf-8' }
        : ASSETS[url.pathname];
    if (!asset) return false;
    if (!this.hasSession(request)) {
      text(response, 401, 'Not signed in. Run `bucketlink status --login-url` and open the link it prints.');
      return true;
    }
    response.writeHead(200, {
      'content-type': asset.type,
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'",
      'x-frame-options': 'DENY',
    });
    response.end(await readFile(asset.file));
    return true;
  }
}

function text(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(`${body}\n`);
}
