/**
 * Preloaded into the bucketlink child under `npm run bench -- --profile`
 * (`--import` this file): counts the HTTP requests its embedded servers
 * answer — DynamoDB operations by X-Amz-Target, S3 requests by method —
 * and writes them to `$BENCH_REQUEST_COUNTS.<pid>.json` every second and at
 * exit, so a profile can be read per request ("n DynamoDB calls per
 * imported file") instead of guessed.
 */
import { writeFileSync } from 'node:fs';
import { Server } from 'node:http';

const out = process.env.BENCH_REQUEST_COUNTS;
if (out) {
  const counts = {};
  const emit = Server.prototype.emit;
  Server.prototype.emit = function (event, ...args) {
    if (event === 'request') {
      const request = args[0];
      const target = request.headers['x-amz-target'];
      const key =
        typeof target === 'string'
          ? `dynamodb ${target.split('.').pop()}`
          : request.url === '/control' || request.url === '/status'
            ? `control ${request.method} ${request.url}`
            : `s3 ${request.method}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return emit.call(this, event, ...args);
  };
  const dump = () => writeFileSync(`${out}.${process.pid}.json`, `${JSON.stringify(counts, null, 2)}\n`);
  setInterval(dump, 1000).unref();
  process.on('exit', dump);
}
