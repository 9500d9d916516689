import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess, runCli } from '../support/bucketlink.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;

interface RawReply {
  status: number;
  body: string;
}

/** One HTTP request with exactly these headers (fetch would not let a test forge Host). */
function raw(
  endpoint: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<RawReply> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? 'POST',
        headers: { host: url.host, ...options.headers },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the control API refuses requests a web page or a rebinding name could send', () => {
  let local: LocalProcess;
  let associationId: string;
  const destroy = () =>
    JSON.stringify({ action: 'deleteAssociation', associationId, deleteDataInFileSystem: true });

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('guarded');
    associationId = await local.associate('/guarded', 's3://guarded/');
    await writeFile(join(local.root, 'guarded', 'keep.txt'), 'precious');
    await eventually(() =>
      local.s3.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'keep.txt' })).catch(() => undefined),
    );
  });
  afterAll(async () => {
    await local?.stop();
  });

  const json = () => ({ 'content-type': 'application/json', 'x-bucketlink-token': local.token });

  it('answers a well-formed request that carries the token (the helper itself is not what refuses)', async () => {
    const reply = await raw(local.controlEndpoint, '/control', {
      headers: json(),
      body: JSON.stringify({ action: 'describeAssociations' }),
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).associations).toHaveLength(1);
  });

  it.each([
    ['no token', () => ({ 'content-type': 'application/json' }), 401, 'Unauthorized'],
    [
      'a wrong token',
      () => ({ 'content-type': 'application/json', 'x-bucketlink-token': 'f'.repeat(64) }),
      401,
      'Unauthorized',
    ],
    [
      'a text/plain body (a no-cors simple request)',
      () => ({ ...json(), 'content-type': 'text/plain;charset=UTF-8' }),
      415,
      'UnsupportedMediaType',
    ],
    ['a foreign Origin', () => ({ ...json(), origin: 'http://evil.example' }), 403, 'ForbiddenOrigin'],
    ['Origin null (a sandboxed page)', () => ({ ...json(), origin: 'null' }), 403, 'ForbiddenOrigin'],
    [
      'a rebinding Host',
      () => ({ ...json(), host: `rebind.evil.example:${new URL(local.controlEndpoint).port}` }),
      403,
      'ForbiddenHost',
    ],
    [
      'the browser attack as sent (text/plain, no token, foreign Origin)',
      () => ({ 'content-type': 'text/plain;charset=UTF-8', origin: 'http://evil.example' }),
      403,
      'ForbiddenOrigin',
    ],
  ])('refuses a delete with %s and changes nothing', async (_name, headers, status, code) => {
    const reply = await raw(local.controlEndpoint, '/control', { headers: headers(), body: destroy() });
    expect(reply.status).toBe(status);
    expect(JSON.parse(reply.body).error.code).toBe(code);

    const described = JSON.parse((await local.cli('associations', 'describe')).stdout);
    expect(described.associations.map((a: { associationId: string }) => a.associationId)).toEqual([
      associationId,
    ]);
    expect(await readFile(join(local.root, 'guarded', 'keep.txt'), 'utf8')).toBe('precious');
  });

  it('serves no status and takes no events without the token', async () => {
    const status = await raw(local.controlEndpoint, '/status', { method: 'GET' });
    expect(status.status).toBe(401);
    expect(status.body).not.toContain(local.root);
    expect(JSON.parse(status.body)).not.toHaveProperty('transfers');

    const events = await raw(local.controlEndpoint, '/events', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Entries: [] }),
    });
    expect(events.status).toBe(401);
    expect((await local.status()).events).toMatchObject({ agentEntries: 0 });
  });

  it('writes the token only its user can read, in the state directory and per endpoint', async () => {
    const inState = await stat(join(local.state, 'control-token'));
    expect(inState.mode & 0o777).toBe(0o600);
    const files = await readdir(join(local.configDirectory, 'tokens'));
    const port = new URL(local.controlEndpoint).port;
    expect(files).toContain(`127.0.0.1_${port}`);
    for (const file of files) {
      expect((await stat(join(local.configDirectory, 'tokens', file))).mode & 0o777).toBe(0o600);
    }
  });

  it('a CLI that cannot find the token says so in one line and exits non-zero', async () => {
    const { stderr, code } = await runCli([BIN, 'associations', 'describe'], {
      BUCKETLINK_ENDPOINT: local.controlEndpoint,
      BUCKETLINK_CONFIG_DIR: join(local.state, 'nowhere'),
    });
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^bucketlink: Unauthorized: .*BUCKETLINK_TOKEN/);

    const withEnv = await runCli([BIN, 'associations', 'describe'], {
      BUCKETLINK_ENDPOINT: local.controlEndpoint,
      BUCKETLINK_CONFIG_DIR: join(local.state, 'nowhere'),
      BUCKETLINK_TOKEN: local.token,
    });
    expect(withEnv.code).toBe(0);
  });

  it('says in --help what binding beyond loopback exposes', async () => {
    const { stdout } = await runCli([BIN, 'local', '--help']);
    expect(stdout.replace(/\s+/g, ' ')).toMatch(/accepts any signature/);
  });
});
