// Entry of the embedded S3 server process (forked by server.ts). It registers
// tsx itself, so it runs the TypeScript sources however the parent was started.
import { register } from 'tsx/esm/api';

register();
await import('./child.ts');
