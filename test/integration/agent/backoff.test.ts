import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCounters } from '../../../src/agent/agent.ts';

const POSTER_DEFAULTS = { retryBaseMs: 200 };

import { eventually } from '../../support/bucketlink.ts';

const BIN = new URL('../../../bin/bucketlink.mjs', import.meta.url).pathname;

/** A loopback port nothing listens on: every PutEvents is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('bucketlink agent with an unreachable bus', () => {
  let base: string;
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('backs off from 200 ms (the retry options the CLI leaves unset keep their defaults), not a NaN-delay storm', async () => {
    base = await mkdtemp(join(tmpdir(), 'bucketlink-backoff-'));
    await mkdir(join(base, 'fs', 'data'), { recursive: true });
    const child = spawn(
      process.execPath,
      [
        BIN,
        'agent',
        '--root',
        join(base, 'fs'),
        '--spool',
        join(base, 'spool'),
        '--endpoint',
        `http://127.0.0.1:${await closedPort()}`,
        '--quiet-ms',
        '100',
        '--scan-interval',
        '0',
        '--stats-port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' } },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`agent exited ${code}: ${stderr}`)));
      });
      const { statsEndpoint } = JSON.parse(line) as { statsEndpoint: string };
      const counters = async () => (await (await fetch(statsEndpoint)).json()) as AgentCounters;
      await writeFile(join(base, 'fs', 'data', 'a.txt'), 'a');
      await eventually(async () => (await counters()).failedCalls >= 1, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const after = await counters();

      // 200 ms doubling (each wait jittered to 50–100 %): at most 6 calls in the first 2 s.
      expect(POSTER_DEFAULTS.retryBaseMs).toBe(200);
      expect(after.failedCalls).toBeLessThanOrEqual(6);
      expect(after.spoolDepth).toBe(1);
      const failures = stderr.split('\n').filter((l) => l.includes('agent post failed'));
      expect(failures.length).toBeLessThanOrEqual(6);
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);
});
