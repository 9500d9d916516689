import { SyncError } from '../core/errors.ts';

/**
 * What a failed start-up of `bucketlink local` tells its user: one line
 * saying what is wrong and what to do, instead of Node's listen error and
 * its stack. Listen errors are matched on Node's `code` and `port`, which
 * both the in-process servers and a server in a child process carry.
 */

export interface ListenFlags {
  host: string;
  /** The port each flag asked for. */
  ports: Record<string, number>;
}

interface ListenError {
  code?: string;
  port?: number;
  hostname?: string;
  address?: string;
  message?: string;
}

/** The flag that asked for `port`, e.g. `--s3-port`. */
function flagOf(port: number | undefined, flags: ListenFlags): string | undefined {
  return Object.entries(flags.ports).find(([, asked]) => asked === port)?.[0];
}

/** A start-up failure as the SyncError the CLI prints; anything it does not recognise unchanged. */
export function startupError(error: unknown, flags: ListenFlags): unknown {
  // Matched on `code` first: a typed listen error (a SyncError whose code is EADDRINUSE) maps too.
  const listen = (error ?? {}) as ListenError;
  const port = listen.port ?? Number(/:(\d+)$/.exec(listen.message ?? '')?.[1] ?? Number.NaN);
  const flag = flagOf(port, flags);
  switch (listen.code) {
    case 'EADDRINUSE':
      return new SyncError(
        'PortInUse',
        `port ${port} is in use: stop the other bucketlink or pass ${flag ?? 'another port, or'} 0`,
        { cause: error },
      );
    case 'EACCES':
      return new SyncError(
        'PortNotPermitted',
        `port ${port} needs privileges this user lacks: pass ${flag ?? 'a port above 1023, or'} 0 or a port above 1023`,
        { cause: error },
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return new SyncError(
        'BadRequest',
        `--host ${flags.host} is not an address of this machine: pass one it has, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)`,
        { cause: error },
      );
    default:
      return error;
  }
}
