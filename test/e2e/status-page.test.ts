import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

/**
 * The status page in a real browser: Debian's headless Chromium (installed
 * by .ci/run; nothing downloads a browser) driven by playwright-core.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('the status page at / of the control port', () => {
  let local: LocalProcess;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];
  const demo = () => join(local.root, 'demo');
  const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';

  beforeAll(async () => {
    local = await LocalProcess.start(undefined, { args: ['--demo'] });
    await eventually(async () => {
      const described = JSON.parse((await local.cli('associations', 'describe')).stdout);
      return described.associations[0]?.lifecycle === 'AVAILABLE';
    });
    context = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'bucketlink-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1440, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await local?.stop();
  });

  it('gives a request without the credential no data', async () => {
    const bare = await fetch(`${local.controlEndpoint}/status?detail=full`);
    expect(bare.status).toBe(401);
    expect(await bare.text()).not.toContain('/demo');

    // Refused loads in a page of their own: Chromium reports each as a console error, and may do so
    // late, so the page whose console must stay clean never sees them.
    const probe = await context.newPage();
    const response = await probe.goto(`${local.controlEndpoint}/`);
    expect(response?.status()).toBe(401);
    expect(await probe.content()).not.toContain('s3://demo/');
    const fromPage = await probe.evaluate(async () => (await fetch('/status?detail=full')).status);
    expect(fromPage).toBe(401);

    // A used sign-in link does not sign in twice.
    const url = (await local.cli('status', '--login-url')).stdout.trim();
    await probe.goto(url);
    const again = await probe.goto(url);
    expect(again?.status()).toBe(401);
    await context.clearCookies();
    expect((await probe.goto(`${local.controlEndpoint}/`))?.status()).toBe(401);
    await probe.close();
  });

  it('signs in with a one-time link and shows the demo association AVAILABLE with no console error', async () => {
    // The refusals above are logged by Chromium as failed loads; from here on nothing may be.
    consoleErrors.length = 0;
    const login = await local.cli('status', '--login-url');
    expect(login.code).toBe(0);
    await page.goto(login.stdout.trim());
    expect(new URL(page.url()).pathname).toBe('/');
    const cookie = (await context.cookies()).find((c) => c.name === 'bucketlink_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    const row = page.locator('#associations tbody tr', { hasText: '/demo' });
    await row.waitFor();
    expect(await row.textContent()).toContain('AVAILABLE');
    expect(await row.textContent()).toContain('s3://demo/');
    // Layout shifts from here on (Chromium's Layout Instability API), read by the last test.
    await page.evaluate(`
      window.shift = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.shift += entry.value;
      }).observe({ type: 'layout-shift' });
    `);
  });

  it('moves the counters and the chart within 2 s of a file written under the root', async () => {
    const before = Number(await text('#s-transfers'));
    const chartBefore = Number(await page.locator('#chart').getAttribute('data-total'));
    const written = Date.now();
    await writeFile(join(demo(), 'hello.txt'), 'hello from the browser test');
    // Polled from here (the page's CSP forbids the eval a string predicate needs).
    await expect
      .poll(async () => Number(await text('#s-transfers')), { timeout: 2_000, interval: 50 })
      .toBeGreaterThan(before);
    await expect
      .poll(async () => Number(await page.locator('#chart').getAttribute('data-total')), {
        timeout: 2_000,
        interval: 50,
      })
      .toBeGreaterThan(chartBefore);
    expect(Date.now() - written).toBeLessThan(2_000);
    const row = page.locator('#associations tbody tr', { hasText: '/demo' });
    expect(await row.locator('[data-field="bytes"]').textContent()).toMatch(/ \/ 27 B$/);
  });

  it('shows a conflict made on purpose with its path', async () => {
    const path = join(demo(), 'contested.txt');
    await writeFile(path, 'first');
    await eventually(() =>
      local.s3.send(new HeadObjectCommand({ Bucket: 'demo', Key: 'contested.txt' })).catch(() => undefined),
    );
    await local.settle();
    await writeFile(path, 'changed on the file system');
    await local.s3.send(
      new PutObjectCommand({ Bucket: 'demo', Key: 'contested.txt', Body: 'changed in S3' }),
    );
    await page.locator('#conflicts tbody tr', { hasText: 'contested.txt' }).waitFor({ timeout: 30_000 });
  });

  it('shows a running task with a progress bar that ends at 100 %', async () => {
    await mkdir(join(demo(), 'batch'), { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(demo(), 'batch', `f${i}.txt`), `file ${i}`);
    await local.settle();
    const { associations } = JSON.parse((await local.cli('associations', 'describe')).stdout);
    const created = await local.cli(
      'tasks',
      'create',
      '--type',
      'EXPORT_TO_REPOSITORY',
      '--association',
      associations[0].associationId,
      '--report',
      's3://demo/reports/',
    );
    expect(created.stderr).toBe('');
    const taskId = JSON.parse(created.stdout).task.taskId as string;
    const bar = page.locator(`#tasks tr[data-task="${taskId}"] [role="progressbar"]`);
    await bar.waitFor({ timeout: 10_000 });
    await expect
      .poll(() => bar.getAttribute('aria-valuenow'), { timeout: 60_000, interval: 100 })
      .toBe('100');
    const row = page.locator(`#tasks tr[data-task="${taskId}"]`);
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('SUCCEEDED');
    expect(await row.textContent()).toContain(`s3://demo/reports/${taskId}/failures.csv`);
  });

  it('did not shift its layout while it updated, logged no console error, and saves a screenshot', async () => {
    const shift = (await page.evaluate('window.shift')) as number;
    expect(shift).toBeLessThan(0.01);
    expect(consoleErrors).toEqual([]);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });
  });
});
