import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { SyncError } from '../../core/errors.ts';
import { logger } from '../../log.ts';
import type { ChildMessage, ChildOptions, ParentMessage } from './protocol.ts';

const CHILD_ENTRY = new URL('./child.mjs', import.meta.url);
/**
 * s3rver's listing continuation tokens (any listing past one page) are DES,
 * which Node's OpenSSL 3 offers only with its legacy provider. The flag is
 * given to the S3 process alone, so no way of starting bucketlink needs it.
 */
const CHILD_EXEC_ARGV = ['--openssl-legacy-provider'];
const CLOSE_TIMEOUT_MS = 5_000;

/** The embedded S3 endpoint could not listen; `code` and `port` as Node reports them (EADDRINUSE …). */
export class S3ListenError extends SyncError {
  readonly address: string;
  readonly port: number;
  readonly syscall = 'listen';

  constructor(code: string, address: string, port: number, message: string) {
    super(code, `embedded S3 endpoint cannot listen on ${address}:${port}: ${message}`);
    this.address = address;
    this.port = port;
  }
}

export interface S3Server {
  endpoint: string;
  /**
   * `records` (S3rverRecord[], reason?: 'DeleteObjects'): s3rver's
   * notification records, and one per key of a DeleteObjects request, which
   * s3rver alone does not report. `exit` (code, signal) if the server
   * process ends before close().
   */
  events: EventEmitter;
  /** The server process's id. */
  pid: number;
  close(): Promise<void>;
}

/**
 * Starts s3rver in its own process on `host:port` (0 picks a free port),
 * storing under `directory`. Rejects with S3ListenError when it cannot
 * listen. The process ends with close(), or by itself when this process
 * exits or is killed.
 */
export async function startS3Server(options: {
  directory: string;
  host?: string;
  port?: number;
}): Promise<S3Server> {
  const childOptions: ChildOptions = {
    directory: options.directory,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
  };
  const child = fork(CHILD_ENTRY, [JSON.stringify(childOptions)], {
    execArgv: CHILD_EXEC_ARGV,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const events = new EventEmitter();
  const killWithUs = () => child.kill('SIGKILL');
  process.once('exit', killWithUs);
  let closing = false;

  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`embedded S3 server exited before listening (code ${code}, signal ${signal})`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'listening') {
        child.off('exit', onExit);
        child.off('error', reject);
        resolve(message.port);
      } else if (message.type === 'listen-error') {
        child.off('exit', onExit);
        reject(new S3ListenError(message.code, message.address, message.port, message.message));
      } else if (message.type === 'records') {
        try {
          events.emit('records', message.records, message.reason);
        } finally {
          send(child, { type: 'ack', seq: message.seq });
        }
      }
    });
  }).catch((error: unknown) => {
    process.off('exit', killWithUs);
    child.kill('SIGKILL');
    throw error;
  });

  child.once('exit', (code, signal) => {
    process.off('exit', killWithUs);
    if (closing) return;
    logger.error('embedded S3 server exited', { action: 's3Server', code, signal });
    events.emit('exit', code, signal);
  });

  return {
    endpoint: `http://${endpointHost(childOptions.host)}:${port}`,
    events,
    pid: child.pid!,
    close: () => {
      closing = true;
      return stopChild(child);
    },
  };
}

function send(child: ChildProcess, message: ParentMessage): void {
  if (child.connected) child.send(message);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  send(child, { type: 'close' });
  const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** An IPv6 literal needs brackets in a URL. */
function endpointHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
