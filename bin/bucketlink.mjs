#!/usr/bin/env -S node --openssl-legacy-provider
// Runs the TypeScript CLI directly (tsx), so a clone needs no build step.
// --openssl-legacy-provider: s3rver's listing continuation tokens use DES.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
