#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so a clone needs no build step.
import { register } from 'tsx/esm/api';

// bucketlink supports Node 20.19+; the SDK's notice about its own future floor is not the user's concern here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../src/cli/main.ts');
