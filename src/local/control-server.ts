import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { z } from 'zod';
import { errorCode, SyncError } from '../core/errors.ts';
import { refusal } from './control-guard.ts';
import { StatusPage } from './status-page.ts';

/**
 * The control API on loopback HTTP. `POST /control` takes exactly the
 * payload the deployed `control` Lambda takes; `GET /status` serves the
 * runtime's counters. Every route wants the token (see control-guard.ts).
 */
export interface ControlServerOptions {
  host: string;
  port: number;
  /** The credential every request must carry. */
  token: string;
  control(request: unknown): Promise<unknown>;
  /** GET /status; `detail=full` adds associations and tasks. */
  status(query: URLSearchParams): unknown;
  /** EventBridge PutEvents (`{ Entries }` → `{ FailedEntryCount, Entries }`), so a separate `bucketlink agent` can post here. */
  putEvents?(request: unknown): Promise<unknown>;
}

/** HTTP status for an error code: the caller's mistakes are 4xx, ours 5xx. */
function statusFor(error: unknown): number {
  const code = errorCode(error);
  if (code === 'DataRepositoryAssociationNotFound' || code === 'NoSuchBucket') return 404;
  if (error instanceof SyncError || error instanceof z.ZodError) return 400;
  return 500;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const body = await text(request);
  try {
    return body ? JSON.parse(body) : {};
  } catch {
    throw new SyncError('BadRequest', 'request body is not JSON');
  }
}

export async function startControlServer(
  options: ControlServerOptions,
): Promise<{ endpoint: string; port: number; server: Server }> {
  const page = new StatusPage();
  const server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    try {
      const url = new URL(request.url ?? '/', 'http://control');
      // Browsers ask every origin for a favicon; there is none, and answering says nothing.
      if (request.method === 'GET' && url.pathname === '/favicon.ico') {
        request.resume();
        response.writeHead(204);
        response.end();
        return;
      }
      // The page's routes check its session cookie themselves (and /login hands one out).
      const pageRoute =
        request.method === 'GET' &&
        (url.pathname === '/' || url.pathname === '/login' || url.pathname.startsWith('/assets/'));
      const refused = refusal(
        request,
        {
          token: options.token,
          boundHost: options.host,
          port: boundPort(),
          sessionToken: (r) => (page.hasSession(r) ? options.token : undefined),
        },
        !pageRoute,
      );
      if (refused) {
        request.resume();
        return reply(refused.status, { error: { code: refused.code, message: refused.message } });
      }
      if (pageRoute && (await page.serve(request, response, url))) return;
      if (request.method === 'POST' && url.pathname === '/login-code') {
        request.resume();
        const code = page.loginCode();
        return reply(200, {
          loginUrl: `http://${request.headers.host}/login?code=${code}`,
          expiresInSeconds: 300,
        });
      }
      if (request.method === 'GET' && url.pathname === '/status')
        return reply(200, await options.status(url.searchParams));
      if (request.method === 'POST' && url.pathname === '/control') {
        return reply(200, await options.control(await readJson(request)));
      }
      // The EventBridge SDK posts to the endpoint's root with this target header.
      const putEvents =
        request.url === '/events' || request.headers['x-amz-target'] === 'AWSEvents.PutEvents';
      if (request.method === 'POST' && putEvents && options.putEvents) {
        return reply(200, await options.putEvents(await readJson(request)));
      }
      reply(404, { error: { code: 'NotFound', message: `no route ${request.method} ${request.url}` } });
    } catch (error) {
      const message =
        error instanceof z.ZodError
          ? error.issues.map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`).join('; ')
          : error instanceof Error
            ? error.message
            : String(error);
      reply(statusFor(error), {
        error: { code: error instanceof z.ZodError ? 'BadRequest' : errorCode(error), message },
      });
    }
  });
  const boundPort = () => (server.address() as AddressInfo).port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://${options.host}:${port}`, port, server };
}
