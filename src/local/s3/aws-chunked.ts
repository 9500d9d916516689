import { Transform, type TransformCallback } from 'node:stream';

/**
 * Decodes an `aws-chunked` request body (S3's SigV4 streaming upload) into
 * the bytes the client means, and collects its trailing headers. The frame,
 * for every x-amz-content-sha256 of the STREAMING-* family:
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n<size bytes>\r\n   … repeated
 *   0[;chunk-signature=<sig>]\r\n
 *   <trailer name>:<value>\r\n                              … zero or more
 *   \r\n
 *
 * Chunk and trailer signatures are read and not checked: the embedded
 * endpoint accepts any signature. A frame that breaks this grammar fails the
 * stream with MalformedChunkError.
 */

export class MalformedChunkError extends Error {
  override name = 'MalformedChunkError';
}

/** A size line or trailer line longer than this is not a frame. */
const MAX_LINE = 4096;
const CRLF = Buffer.from('\r\n');

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

export class AwsChunkedDecoder extends Transform {
  /** Trailing headers, lower-cased names; complete once the stream has ended. */
  readonly trailers: Record<string, string> = {};
  #state: State = 'size';
  #pending: Buffer = Buffer.alloc(0);
  #remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
      this.#consume();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.#state !== 'done')
      callback(new MalformedChunkError('the aws-chunked body ended before its final chunk'));
    else callback();
  }

  #consume(): void {
    for (;;) {
      if (this.#state === 'data') {
        if (!this.#pending.length) return;
        const take = Math.min(this.#remaining, this.#pending.length);
        this.push(this.#pending.subarray(0, take));
        this.#pending = this.#pending.subarray(take);
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = 'data-end';
        continue;
      }
      if (this.#state === 'done') {
        if (this.#pending.length) throw new MalformedChunkError('bytes after the final aws-chunked frame');
        return;
      }
      const line = this.#line();
      if (line === undefined) return;
      if (this.#state === 'data-end') {
        if (line !== '') throw new MalformedChunkError('a chunk is longer than its size line says');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const size = line.split(';', 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,16}$/.test(size))
          throw new MalformedChunkError(`bad chunk size line ${JSON.stringify(line)}`);
        this.#remaining = Number.parseInt(size, 16);
        this.#state = this.#remaining === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.#state = 'done';
      } else {
        const colon = line.indexOf(':');
        if (colon <= 0) throw new MalformedChunkError(`bad trailer line ${JSON.stringify(line)}`);
        this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
  }

  /** The next CRLF-terminated line, without its CRLF, or undefined until it has arrived. */
  #line(): string | undefined {
    const end = this.#pending.indexOf(CRLF);
    if (end < 0) {
      if (this.#pending.length > MAX_LINE) throw new MalformedChunkError('an aws-chunked line is too long');
      return undefined;
    }
    const line = this.#pending.subarray(0, end).toString('latin1');
    this.#pending = this.#pending.subarray(end + 2);
    return line;
  }
}

/** True when a request body is aws-chunked framed (by its encoding or its payload-hash header). */
export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const encoding = String(headers['content-encoding'] ?? '').toLowerCase();
  const payload = String(headers['x-amz-content-sha256'] ?? '');
  return encoding.split(',').some((e) => e.trim() === 'aws-chunked') || payload.startsWith('STREAMING-');
}

/** Content-Encoding without `aws-chunked` (S3 stores the rest), or undefined when nothing is left. */
export function contentEncodingWithoutChunked(value: string | undefined): string | undefined {
  const rest = (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e && e.toLowerCase() !== 'aws-chunked');
  return rest.length ? rest.join(',') : undefined;
}
