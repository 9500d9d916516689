import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore } from '../adapters/ports.ts';

/**
 * Repository tasks keep their walk manifests in a bucket (on AWS, the
 * stack's tasks bucket). Against an external store local mode has no bucket
 * of its own to put them in, and must not create one in somebody's account,
 * so this store keeps that one bucket's objects as files under the state
 * directory and hands every other bucket to the real store.
 */
export function withLocalBucket(store: ObjectStore, bucket: string, directory: string): ObjectStore {
  const file = (key: string) => join(directory, ...key.split('/').map(encodeURIComponent));
  const unsupported = (what: string) => () => {
    throw new Error(`${what} is not supported on the local ${bucket} bucket`);
  };
  return {
    head: (b, key) => (b === bucket ? unsupported('head')() : store.head(b, key)),
    stat: (b, prefix, path, hint) =>
      b === bucket ? unsupported('stat')() : store.stat(b, prefix, path, hint),
    open: (b, prefix, path) => (b === bucket ? unsupported('open')() : store.open(b, prefix, path)),
    copy: (b, source, key, options) =>
      b === bucket ? unsupported('copy')() : store.copy(b, source, key, options),
    list: (b, prefix) => (b === bucket ? unsupported('list')() : store.list(b, prefix)),
    bucketExists: async (b) => b === bucket || store.bucketExists(b),
    async get(b, key, options) {
      if (b !== bucket) return store.get(b, key, options);
      const path = file(key);
      const { size, mtime } = await stat(path);
      const state = {
        kind: 'file' as const,
        key,
        etag: '',
        lastModified: mtime.toISOString(),
        size,
        metaHash: '',
        meta: {},
      };
      return { body: createReadStream(path), state };
    },
    async put(b, key, body, options) {
      if (b !== bucket) return store.put(b, key, body, options);
      const path = file(key);
      await mkdir(dirname(path), { recursive: true });
      const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([body]) : body;
      await pipeline(source, createWriteStream(path));
      return { etag: '' };
    },
    async upload(b, key, body) {
      if (b !== bucket) return store.upload(b, key, body);
      const path = file(key);
      await mkdir(dirname(path), { recursive: true });
      await pipeline(body, createWriteStream(path));
      return { etag: '' };
    },
    async delete(b, key, options) {
      if (b !== bucket) return store.delete(b, key, options);
      await rm(file(key), { force: true });
    },
  };
}
