import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProcess, runCli } from '../support/bucketlink.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;

describe('the bucketlink command', () => {
  let local: LocalProcess;
  let logsId: string;

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('logs');
    await local.createBucket('other');
    logsId = await local.associate('/logs', 's3://logs/app/');
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('describes associations as JSON with FSx field names', async () => {
    const { stdout, code } = await local.cli('associations', 'describe');
    expect(code).toBe(0);
    const [association] = JSON.parse(stdout).associations;
    expect(association).toMatchObject({
      associationId: logsId,
      fileSystemPath: '/logs',
      dataRepositoryPath: 's3://logs/app/',
      autoImport: ['NEW', 'CHANGED', 'DELETED'],
      autoExport: ['NEW', 'CHANGED', 'DELETED'],
      batchImportMetaDataOnCreate: true,
      conflictPolicy: 'KEEP_BOTH',
      lifecycle: 'AVAILABLE',
    });
    expect(association.associationId).toMatch(/^dra-[0-9a-f]{17}$/);
  });

  it.each([
    [
      'a nested file-system path',
      ['--file-system-path', '/logs/deeper', '--data-repository-path', 's3://other/'],
      /logs/,
    ],
    [
      'an overlapping S3 path',
      ['--file-system-path', '/elsewhere', '--data-repository-path', 's3://logs/'],
      /overlap/i,
    ],
    [
      'a missing bucket',
      ['--file-system-path', '/nobucket', '--data-repository-path', 's3://no-such-bucket/'],
      /no-such-bucket/,
    ],
    [
      'a relative file-system path',
      ['--file-system-path', 'relative', '--data-repository-path', 's3://other/'],
      /\//,
    ],
    [
      'a non-S3 repository path',
      ['--file-system-path', '/x', '--data-repository-path', 'https://other/'],
      /s3:\/\//,
    ],
  ])('refuses %s with a clear error and a non-zero exit', async (_case, flags, message) => {
    const { stdout, stderr, code } = await local.cli('associations', 'create', ...flags);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });

  it('refuses an unknown association ID', async () => {
    const { stderr, code } = await local.cli('associations', 'describe', 'dra-00000000000000000');
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/DataRepositoryAssociationNotFound/);
  });

  it('refuses a bad --auto-import value before contacting anything', async () => {
    const { stderr, code } = await local.cli(
      'associations',
      'update',
      logsId,
      '--auto-import',
      'NEW,SOMETIMES',
    );
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/SOMETIMES/);
  });

  it('updates policies but not paths', async () => {
    const { stdout, code } = await local.cli(
      'associations',
      'update',
      logsId,
      '--auto-export',
      'NEW,CHANGED',
      '--conflict-policy',
      'S3_WINS',
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).association).toMatchObject({
      autoExport: ['NEW', 'CHANGED'],
      conflictPolicy: 'S3_WINS',
    });
  });

  it('says where it tried to connect when no runtime is running', async () => {
    const { stderr, code } = await runCli([
      BIN,
      'associations',
      'describe',
      '--endpoint',
      'http://127.0.0.1:1',
    ]);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1/);
  });

  it('deletes an association, keeping its files unless asked', async () => {
    const id = await local.associate('/temporary', 's3://other/');
    const { stdout, code } = await local.cli('associations', 'delete', id);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ associationId: id, lifecycle: 'DELETING' });
    const after = await local.cli('associations', 'describe', id);
    expect(after.code).not.toBe(0);
  });
});
