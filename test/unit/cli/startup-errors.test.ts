import { describe, expect, it } from 'vitest';
import { startupError } from '../../../src/cli/startup-errors.ts';
import { SyncError } from '../../../src/core/errors.ts';

const flags = { host: '127.0.0.1', ports: { '--s3-port': 4566, '--control-port': 4567 } };

describe('startupError', () => {
  it('maps a typed listen error (a SyncError with code EADDRINUSE and the port, as a server in a child process reports it)', () => {
    const typed = Object.assign(new SyncError('EADDRINUSE', 'listen EADDRINUSE: address already in use'), {
      port: 4566,
    });
    expect(startupError(typed, flags)).toMatchObject({
      code: 'PortInUse',
      message: 'port 4566 is in use: stop the other bucketlink or pass --s3-port 0',
    });
  });

  it('reads the port from the message when the error carries none', () => {
    const plain = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:4567'), {
      code: 'EADDRINUSE',
    });
    expect(startupError(plain, flags)).toMatchObject({
      message: 'port 4567 is in use: stop the other bucketlink or pass --control-port 0',
    });
  });

  it('leaves any other error as it is', () => {
    const other = new SyncError('NoSuchBucket', 'gone');
    expect(startupError(other, flags)).toBe(other);
  });
});
