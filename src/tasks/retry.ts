import { setTimeout as sleep } from 'node:timers/promises';
import { SyncError } from '../core/errors.ts';
import { withDefaults } from '../core/options.ts';

/** How a task retries one path that failed with a retryable error before counting it as failed. */
export interface PathRetryOptions {
  /** Tries in all, the first included. */
  attempts: number;
  /** The first backoff; each further one doubles, with full jitter. */
  baseMs: number;
  maxMs: number;
}

export const PATH_RETRY_DEFAULTS: PathRetryOptions = { attempts: 4, baseMs: 250, maxMs: 4_000 };

/** Socket failures that reach us unwrapped (the S3 adapter wraps its own as `Transient`). */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * Whether trying the path again can help: a SyncError that says so
 * (`Transient` — throttling, 5xx, connection resets —, a lost conditional
 * write, a source that changed mid-read, a lease held elsewhere), or a raw
 * socket failure.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SyncError) return error.retryable;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (typeof code === 'string' && SOCKET_CODES.has(code)) || message === 'socket hang up';
}

/**
 * Runs `attempt` until it succeeds, fails with an error that retrying cannot
 * help, or has been tried `attempts` times; waits a jittered, doubling
 * backoff in between. The last error is thrown.
 */
export async function withPathRetries<T>(
  attempt: () => Promise<T>,
  options?: Partial<PathRetryOptions>,
  onRetry?: (error: unknown, tried: number) => void,
): Promise<T> {
  const { attempts, baseMs, maxMs } = withDefaults(PATH_RETRY_DEFAULTS, options);
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (tried >= attempts || !isRetryable(error)) throw error;
      onRetry?.(error, tried);
      await sleep(Math.random() * Math.min(maxMs, baseMs * 2 ** (tried - 1)));
    }
  }
}
