import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../src/adapters/clients.ts';
import { HostAgent } from '../../../src/agent/agent.ts';
import { eventually } from '../../support/bucketlink.ts';
import { PutEventsReceiver } from './put-events-receiver.ts';

describe('HostAgent with a full spool', () => {
  let base: string;
  let agent: HostAgent | undefined;
  const receiver = new PutEventsReceiver();

  afterEach(async () => {
    await agent?.close();
    await receiver.close();
    await rm(base, { recursive: true, force: true });
  });

  it('counts the changes it could not spool and finds them again by scanning once there is room', async () => {
    base = await mkdtemp(join(tmpdir(), 'bucketlink-full-'));
    const root = join(base, 'fs');
    await mkdir(root);
    await receiver.open();
    const endpoint = receiver.endpoint;
    await receiver.close();
    agent = new HostAgent({
      root,
      spoolDirectory: join(base, 'spool'),
      busName: 'bucketlink',
      host: 'h',
      quietMs: 100,
      spoolMaxBytes: 12_000,
      retryMaxMs: 500,
      client: new EventBridgeClient({
        region: 'us-east-1',
        endpoint,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
      }),
    });
    await agent.start();
    const names = Array.from({ length: 200 }, (_, i) => `/file-${i}.txt`);
    for (const name of names) {
      await writeFile(join(root, name), name);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await eventually(async () => agent!.counters().spoolFull > 0);
    expect(agent.counters().spooled).toBeLessThan(names.length);

    await receiver.open();
    await eventually(async () => {
      const seen = new Set(receiver.changes().map((c) => c.path));
      return names.every((name) => seen.has(name));
    }, 40_000);
    expect(agent.counters().scans).toBeGreaterThan(1);
  }, 60_000);
});
