// Minimal declarations for the loopback peers, which ship no types.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:http';

  /** Koa middleware, as s3rver (a Koa app) runs it. */
  type Middleware = (ctx: any, next: () => Promise<void>) => Promise<void> | void;
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    vhostBuckets?: boolean;
    allowMismatchedSignatures?: boolean;
    resetOnClose?: boolean;
    configureBuckets?: Array<{ name: string; configs?: unknown[] }>;
  }
  class S3rver extends EventEmitter {
    middleware: Middleware[];
    use(middleware: Middleware): this;
    constructor(options: S3rverOptions);
    run(): Promise<import('node:net').AddressInfo>;
    close(): Promise<void>;
    httpServer: Server;
    /** With a callback as last argument: returns the server it started listening (no 'error' handler). */
    listen(...args: unknown[]): Server | Promise<Server>;
  }
  export default S3rver;
}

declare module 's3rver/lib/models/error.js' {
  /** s3rver's S3 error: thrown from middleware, answered as S3's XML error with its status. */
  export default class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, unknown>);
    code: string;
    status: number;
  }
}

declare module 's3rver/lib/models/object.js' {
  /** Request headers s3rver keeps as object metadata (mutable: its store reads it on each write). */
  const S3Object: { ALLOWED_METADATA: string[] };
  export default S3Object;
}

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}
