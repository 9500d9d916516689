import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;
const exec = promisify(execFile);

describe('bucketlink status', () => {
  let local: LocalProcess;
  let associationId: string;
  // A tmux server of this test's own, so nothing else's sessions are touched.
  const socket = `bucketlink-status-${process.pid}`;
  const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args]);

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('terminal');
    associationId = await local.associate('/terminal', 's3://terminal/');
  });
  afterAll(async () => {
    await tmux('kill-server').catch(() => undefined);
    await local?.stop();
  });

  it('prints a row per association, and the same data as JSON with --json', async () => {
    const text = await local.cli('status');
    expect(text.code).toBe(0);
    const row = text.stdout.split('\n').find((line) => line.startsWith(associationId))!;
    expect(row).toMatch(/\/terminal\s+s3:\/\/terminal\/\s+AVAILABLE/);

    const json = JSON.parse((await local.cli('status', '--json')).stdout);
    expect(json.associations.map((a: { associationId: string }) => a.associationId)).toEqual([associationId]);
    expect(json.pending).toHaveProperty('oldestAgeSeconds');
  });

  it('--watch redraws in place under a real terminal until Ctrl-C', async () => {
    const env = Object.entries(local.cliEnv).map(([name, value]) => `${name}=${value}`);
    await tmux(
      'new-session',
      '-d',
      '-s',
      'watch',
      '-x',
      '200',
      '-y',
      '40',
      'env',
      ...env,
      process.execPath,
      BIN,
      'status',
      '--watch',
    );
    await tmux('set-option', '-t', 'watch', 'remain-on-exit', 'on');
    const screen = async () => (await tmux('capture-pane', '-p', '-t', 'watch')).stdout;

    const first = await eventually(async () => {
      const shown = await screen();
      return shown.includes(associationId) ? shown : undefined;
    }, 20_000);
    expect(first.split('\n')[0]).toMatch(/^bucketlink {2}idle \| pending 0/);
    expect(first).toMatch(/\/terminal\s+s3:\/\/terminal\/\s+AVAILABLE/);

    await writeFile(join(local.root, 'terminal', 'seen.txt'), 'seen from a terminal');
    const after = await eventually(async () => {
      const shown = await screen();
      return /transfers 1 \|/.test(shown) ? shown : undefined;
    }, 20_000);
    // Redrawn in place: the header is still the first line, printed once.
    expect(after.split('\n')[0]).toMatch(/^bucketlink /);
    expect(after.match(/^bucketlink /gm)).toHaveLength(1);
    expect(after).toContain('out 20 B');

    await tmux('send-keys', '-t', 'watch', 'C-c');
    await eventually(
      async () => (await tmux('list-panes', '-t', 'watch', '-F', '#{pane_dead}')).stdout.trim() === '1',
      10_000,
    );
    // tmux marks the pane dead when its terminal closes and fills in the exit status once it has
    // reaped the process, a moment later: wait for the status, then read it.
    const status = await eventually(async () => {
      const shown = (await tmux('list-panes', '-t', 'watch', '-F', '#{pane_dead_status}')).stdout.trim();
      return shown === '' ? undefined : shown;
    }, 10_000);
    expect(status).toBe('0');
  });
});
