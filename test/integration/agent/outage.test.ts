import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCounters } from '../../../src/agent/agent.ts';
import { eventually } from '../../support/bucketlink.ts';
import { PutEventsReceiver } from './put-events-receiver.ts';

const BIN = new URL('../../../bin/bucketlink.mjs', import.meta.url).pathname;
const FILES = 1_000;

/** The real `bucketlink agent` process. */
async function startAgent(root: string, spool: string, endpoint: string) {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'agent',
      '--root',
      root,
      '--spool',
      spool,
      '--endpoint',
      endpoint,
      '--host-name',
      'test-host',
      '--quiet-ms',
      '200',
      '--scan-interval',
      '0',
      '--stats-port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' } },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`agent exited ${code}: ${stderr}`)));
  });
  const { statsEndpoint } = JSON.parse(line) as { statsEndpoint: string };
  const counters = async () => (await fetch(statsEndpoint)).json() as Promise<AgentCounters>;
  return { child, counters, stderr: () => stderr };
}

async function writeFiles(root: string, from: number, to: number) {
  for (let i = from; i < to; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, to - i) }, (_, j) =>
        writeFile(join(root, 'data', `f${i + j}.txt`), `file ${i + j}`),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('bucketlink agent when the bus or the agent fails', () => {
  let base: string;
  let receiver: PutEventsReceiver;
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    children.length = 0;
    await receiver?.close();
    await rm(base, { recursive: true, force: true });
  });

  async function setUp() {
    base = await mkdtemp(join(tmpdir(), 'bucketlink-agent-'));
    await mkdir(join(base, 'fs', 'data'), { recursive: true });
    receiver = new PutEventsReceiver();
    await receiver.open();
    return { root: join(base, 'fs'), spool: join(base, 'spool') };
  }

  const expected = () => Array.from({ length: FILES }, (_, i) => `/data/f${i}.txt`);
  const reported = () => new Set(receiver.changes().map((c) => c.path));

  it('delivers all 1,000 changes, none twice, after the endpoint refused connections for 10 s', async () => {
    const { root, spool } = await setUp();
    const agent = await startAgent(root, spool, receiver.endpoint);
    children.push(agent.child);
    await receiver.close();
    const outage = Date.now();
    await writeFiles(root, 0, FILES);
    await eventually(async () => (await agent.counters()).spooled >= FILES, 30_000);
    const during = await agent.counters();
    expect(during.posted).toBe(0);
    expect(during.spoolDepth).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - outage))));
    expect(receiver.entries).toHaveLength(0);
    await receiver.open();

    await eventually(async () => expected().every((path) => reported().has(path)), 30_000);
    await eventually(async () => (await agent.counters()).spoolDepth === 0, 10_000);
    const after = await agent.counters();
    expect(after.retried).toBeGreaterThan(0);
    expect(after.oldestUnpostedMs).toBe(0);
    expect(receiver.duplicateEntries()).toBe(0);
    // SIGUSR1 prints the same counters as one JSON line.
    agent.child.kill('SIGUSR1');
    const printed = await eventually(async () =>
      agent
        .stderr()
        .split('\n')
        .find((line) => line.startsWith('{"seen"')),
    );
    expect(JSON.parse(printed)).toMatchObject({ posted: after.posted, spoolDepth: 0 });
    const perPath = new Map<string, number>();
    for (const change of receiver.changes()) perPath.set(change.path, (perPath.get(change.path) ?? 0) + 1);
    expect(expected().filter((path) => perPath.get(path) !== 1)).toEqual([]);
  }, 90_000);

  it('loses none when the agent is killed with SIGKILL mid-stream and restarted', async () => {
    const { root, spool } = await setUp();
    const first = await startAgent(root, spool, receiver.endpoint);
    children.push(first.child);
    await writeFiles(root, 0, 300);
    await eventually(async () => (await first.counters()).posted > 0);
    // The bus goes away: what follows stays in the spool.
    await receiver.close();
    await writeFiles(root, 300, 600);
    await eventually(async () => (await first.counters()).spoolDepth > 0);
    const { spoolDepth } = await first.counters();
    first.child.kill('SIGKILL');
    // Changes keep coming while no agent runs.
    await writeFiles(root, 600, FILES);
    const second = await startAgent(root, spool, receiver.endpoint);
    children.push(second.child);
    // The unposted entries came back from disk (the start scan adds what happened meanwhile).
    expect((await second.counters()).spoolDepth).toBeGreaterThanOrEqual(spoolDepth);
    await receiver.open();

    await eventually(async () => expected().every((path) => reported().has(path)), 30_000);
    // Only the PutEvents call in flight at the kill can arrive twice (≤ 10 entries).
    expect(receiver.duplicateEntries()).toBeLessThanOrEqual(10);
  }, 90_000);
});
