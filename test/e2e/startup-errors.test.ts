import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProcess, runCli, tempDirs } from '../support/bucketlink.ts';

/**
 * Start-up and usage mistakes, read as a user reads them: the real CLI's
 * stderr is one line, `bucketlink: <Code>: <what is wrong and what to do>`,
 * with no stack frames, and the exit status is non-zero.
 */

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;
const cli = (...args: string[]) => runCli([BIN, ...args], { POWERTOOLS_LOG_LEVEL: 'WARN' });

function expectOneLine(result: { stderr: string; code: number; stdout: string }, line: RegExp | string) {
  expect(result.code).not.toBe(0);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  if (typeof line === 'string') expect(result.stderr).toBe(`${line}\n`);
  else expect(result.stderr).toMatch(line);
}

/** A port another process holds, as a second `bucketlink local` finds it. */
async function busyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('bucketlink local start-up mistakes', () => {
  let busy: { port: number; server: Server };
  beforeAll(async () => {
    busy = await busyPort();
  });
  afterAll(async () => {
    await new Promise((resolve) => busy?.server.close(resolve));
  });

  const local = async (...flags: string[]) => {
    const dirs = await tempDirs();
    return cli('local', '--root', dirs.root, '--state', dirs.state, ...flags);
  };

  it('says the S3 port is in use and how to pick another', async () => {
    const result = await local('--s3-port', String(busy.port), '--control-port', '0');
    expectOneLine(
      result,
      `bucketlink: PortInUse: port ${busy.port} is in use: stop the other bucketlink or pass --s3-port 0`,
    );
  });

  it('says the control port is in use and how to pick another', async () => {
    const result = await local('--s3-port', '0', '--control-port', String(busy.port));
    expectOneLine(
      result,
      `bucketlink: PortInUse: port ${busy.port} is in use: stop the other bucketlink or pass --control-port 0`,
    );
  });

  it('says a --host that is no address of this machine is wrong', async () => {
    const result = await local('--s3-port', '0', '--control-port', '0', '--host', '999.1.1.1');
    expectOneLine(
      result,
      /^bucketlink: BadRequest: --host 999\.1\.1\.1 is not an address of this machine: pass/,
    );
  });

  it('takes over the lock a dead runtime left in the state directory', async () => {
    const dirs = await tempDirs();
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.once('exit', resolve));
    await mkdir(dirs.state, { recursive: true });
    await writeFile(join(dirs.state, 'runtime.pid'), `${dead.pid}\n`);

    const runtime = await LocalProcess.start(dirs);
    try {
      expect((await readFile(join(dirs.state, 'runtime.pid'), 'utf8')).trim()).toBe(
        String(runtime.child.pid),
      );
    } finally {
      await runtime.stop();
    }
  });
});

describe('mistakes against a running runtime', () => {
  let runtime: LocalProcess;
  beforeAll(async () => {
    runtime = await LocalProcess.start();
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it('refuses a second runtime on the same --state, naming the pid that holds it', async () => {
    const result = await cli(
      'local',
      '--root',
      runtime.root,
      '--state',
      runtime.state,
      '--s3-port',
      '0',
      '--control-port',
      '0',
    );
    expectOneLine(
      result,
      `bucketlink: StateDirectoryInUse: state directory ${runtime.state} is in use by pid ${runtime.child.pid} (another bucketlink local): stop it or pass another --state`,
    );
    // The first runtime still answers.
    expect((await runtime.cli('associations', 'describe')).code).toBe(0);
  });

  it('says an --endpoint at the S3 port is not the control endpoint', async () => {
    const result = await cli('associations', 'describe', '--endpoint', runtime.s3Endpoint);
    expectOneLine(
      result,
      new RegExp(
        `^bucketlink: BadRequest: ${runtime.s3Endpoint} is not a bucketlink control endpoint .*http://127\\.0\\.0\\.1:4567`,
      ),
    );
  });

  it('says an --endpoint without a scheme needs one', async () => {
    const hostPort = runtime.controlEndpoint.replace('http://', '');
    const result = await cli('tasks', 'describe', '--endpoint', hostPort);
    expectOneLine(
      result,
      `bucketlink: BadRequest: --endpoint ${hostPort} is not an http:// URL: pass e.g. http://${hostPort}`,
    );
  });

  it('answers a request the control API refuses with the input code BadRequest, not MalformedEvent', async () => {
    const result = await runtime.cli('tasks', 'describe', '--lifecycle', 'SOMETIMES');
    expectOneLine(result, /^bucketlink: BadRequest: lifecycles\.0: /);
    const relative = await runtime.cli(
      'associations',
      'create',
      '--file-system-path',
      'relative',
      '--data-repository-path',
      's3://x/',
    );
    expectOneLine(relative, /^bucketlink: BadRequest: fileSystemPath: .*must start with "\/"/);
  });
});

describe('the command line itself', () => {
  it('prints the package version', async () => {
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    const result = await cli('--version');
    expect(result).toMatchObject({ code: 0, stdout: `${manifest.version}\n`, stderr: '' });
  });

  it('says where it tried to connect when no runtime answers', async () => {
    const unused = await busyPort();
    await new Promise((resolve) => unused.server.close(resolve));
    const result = await cli('associations', 'describe', '--endpoint', `http://127.0.0.1:${unused.port}`);
    expectOneLine(
      result,
      new RegExp(`^bucketlink: EndpointUnreachable: cannot reach http://127\\.0\\.0\\.1:${unused.port} `),
    );
  });

  it.each([
    [
      'an unknown option',
      ['associations', 'describe', '--bogus'],
      "unknown option '--bogus'",
      'bucketlink associations describe',
    ],
    ['a missing argument', ['tasks', 'wait'], "missing required argument 'id'", 'bucketlink tasks wait'],
    ['an unknown command', ['frobnicate'], "unknown command 'frobnicate'", 'bucketlink'],
    [
      'a missing required option',
      ['tasks', 'create', '--type', 'RECONCILE'],
      "required option '--association <id>' not specified",
      'bucketlink tasks create',
    ],
    [
      'a bad port',
      ['local', '--s3-port', 'x'],
      "option '--s3-port <port>' argument 'x' is invalid. not a port: x",
      'bucketlink local',
    ],
  ])(
    'answers %s with one BadRequest line pointing at --help, not the whole help',
    async (_case, args, message, command) => {
      const result = await cli(...args);
      expectOneLine(result, `bucketlink: BadRequest: ${message} (see ${command} --help)`);
      expect(result.stdout).toBe('');
    },
  );
});
