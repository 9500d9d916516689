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
