'use strict';
/**
 * Deploy parameters that serverless.yml cannot express with plain `${param:…}`
 * strings: comma-separated lists, the S3 rule pattern and IAM resources derived
 * from the bucket parameter, and the Pipe batch size checked against the
 * 256 KB Step Functions input limit. Loaded by Serverless v3 as
 * `${file(./deploy/params.cjs):name}`; each export is called with
 * `{ resolveVariable }` at package time, so nothing here needs AWS.
 *
 * Kept as plain CommonJS (Serverless v3 `require`s it; the repository is ESM
 * and TypeScript runs through tsx, which Serverless does not use).
 * test/deploy/template.test.ts checks the patterns built here against
 * S3_RULE_PATTERN in src/local/rules.ts, so local mode and AWS match.
 */

const { list } = require('./lists.cjs');

/** Largest EventBridge entry the agent sends (docs/architecture.md §4: ≤ 8 KB, several changes each). */
const MAX_EVENT_BYTES = 8 * 1024;
/** The EventBridge envelope around `detail` (version, id, source, account, time, region, resources…). */
const ENVELOPE_BYTES = 512;
/** SQS record fields around the body in the Pipe's batch (messageId, receiptHandle, attributes, md5, ARN…). */
const RECORD_OVERHEAD_BYTES = 1024;
/**
 * The body is a JSON string inside the batch JSON, so every `"` and `\` is
 * escaped; agent details are mostly quoted short strings. 1.25 is a bound
 * measured on agent entries full of quoted paths, with margin.
 */
const ESCAPE_FACTOR = 1.25;
/** Step Functions' maximum execution input. */
const STATE_INPUT_LIMIT_BYTES = 256 * 1024;

/** Worst-case bytes of one SQS record in the Pipe's batch array. */
const WORST_RECORD_BYTES = Math.ceil(
  (MAX_EVENT_BYTES + ENVELOPE_BYTES) * ESCAPE_FACTOR + RECORD_OVERHEAD_BYTES,
);

/** Largest batch whose worst-case input still fits in 256 KB. */
const MAX_BATCH_SIZE = Math.floor(STATE_INPUT_LIMIT_BYTES / WORST_RECORD_BYTES);

/** `logs,data-*` → `['logs', { prefix: 'data-' }]`: a trailing `*` means "every bucket whose name starts with". */
function parseBuckets(text) {
  const entries = String(text)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0)
    throw new Error('deploy parameter `buckets` is empty: name buckets or a prefix like `data-*`');
  return entries.map((entry) => {
    const star = entry.indexOf('*');
    if (star === -1) return entry;
    if (star !== entry.length - 1 || star === 0)
      throw new Error(
        `deploy parameter \`buckets\`: "${entry}" — only a trailing * (a name prefix) is allowed`,
      );
    return { prefix: entry.slice(0, -1) };
  });
}

/** The S3 rule's event pattern; must equal S3_RULE_PATTERN(parseBuckets(…)) in src/local/rules.ts. */
function s3RulePattern(selectors) {
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created', 'Object Deleted'],
    detail: { bucket: { name: selectors.map((s) => (typeof s === 'string' ? s : { prefix: s.prefix })) } },
  };
}

/** IAM resources for the buckets: `{ buckets: [arn:…:name], objects: [arn:…:name/*] }`; a prefix becomes `name*`. */
function bucketArns(selectors) {
  const names = selectors.map((s) => (typeof s === 'string' ? s : `${s.prefix}*`));
  return {
    buckets: names.map((name) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${name}` })),
    objects: names.map((name) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${name}/*` })),
  };
}

/** Pipes reject an SQS batch above 10 messages without a batching window of at least 1 s. */
function checkBatchWindow(size, windowSeconds) {
  if (size > 10 && !(windowSeconds >= 1))
    throw new Error('deploy parameter `batchWindowSeconds` must be at least 1 when `batchSize` is above 10');
}

function batchSize(text) {
  const size = Number(text);
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH_SIZE)
    throw new Error(
      `deploy parameter \`batchSize\` must be an integer 1..${MAX_BATCH_SIZE}: a batch of ${MAX_BATCH_SIZE} records of up to ${WORST_RECORD_BYTES} bytes each is the most that stays under Step Functions' 256 KB input limit`,
    );
  return size;
}

/**
 * An EventBridge Scheduler expression: `rate(N minute[s]|hour[s]|day[s])` or
 * `cron(…)` with six fields. Checked here so a typo fails `serverless
 * package`, not the deployment.
 */
function scheduleExpression(text, name = 'reconcileSchedule') {
  const value = String(text).trim();
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(value);
  if (rate && Number(rate[1]) >= 1) return value;
  const cron = /^cron\((.+)\)$/.exec(value);
  if (cron && cron[1].trim().split(/\s+/).length === 6) return value;
  throw new Error(
    `deploy parameter \`${name}\` must be rate(N minutes|hours|days) or cron(six fields), got "${value}"`,
  );
}

/**
 * The stack's own buckets are named `<service>-<stage>-…` (the tasks bucket,
 * the deployment bucket). A `buckets` selector that matches such a name would
 * let the workers write and delete them and the control function accept an
 * association on them: refused at package time.
 */
function checkOwnBuckets(selectors, service, stage) {
  const own = `${service}-${stage}-`;
  for (const s of selectors) {
    const name = typeof s === 'string' ? s : s.prefix;
    const covers =
      typeof s === 'string' ? name.startsWith(own) : own.startsWith(name) || name.startsWith(own);
    if (covers)
      throw new Error(
        `deploy parameter \`buckets\`: "${typeof s === 'string' ? s : `${s.prefix}*`}" covers the stack's own buckets (${own}…); name the data buckets instead`,
      );
  }
  return selectors;
}

/**
 * `elasticfilesystem:ClientMount`/`ClientWrite` authorize on the file system,
 * not the access point: the file systems of the access point's account and
 * region, narrowed by the `elasticfilesystem:AccessPointArn` condition
 * (EFS user guide, "Using access points in IAM policies").
 */
function fileSystemArns(accessPointArn) {
  const match = /^arn:([^:]+):elasticfilesystem:([^:]+):(\d{12}):access-point\/fsap-[0-9a-f]+$/.exec(
    String(accessPointArn),
  );
  if (!match)
    throw new Error(
      `deploy parameter \`fileSystemAccessPointArn\` must be an EFS access point ARN, got "${accessPointArn}"`,
    );
  const [, partition, region, account] = match;
  return [`arn:${partition}:elasticfilesystem:${region}:${account}:file-system/*`];
}

const param =
  (name) =>
  ({ resolveVariable }) =>
    resolveVariable(`param:${name}`);

/** The `buckets` parameter, parsed and checked against the stack's own bucket names. */
const buckets = async (ctx) =>
  checkOwnBuckets(
    parseBuckets(await param('buckets')(ctx)),
    await ctx.resolveVariable('self:service'),
    await ctx.resolveVariable('sls:stage'),
  );

/** CLI `--param` values arrive as strings; CloudFormation's integer properties want numbers. */
const integer = (name, min, max) => async (ctx) => {
  const value = Number(await param(name)(ctx));
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`deploy parameter \`${name}\` must be an integer ${min}..${max}`);
  return value;
};

module.exports = {
  MAX_EVENT_BYTES,
  ENVELOPE_BYTES,
  RECORD_OVERHEAD_BYTES,
  ESCAPE_FACTOR,
  STATE_INPUT_LIMIT_BYTES,
  WORST_RECORD_BYTES,
  MAX_BATCH_SIZE,
  parseBuckets,
  s3RulePattern,
  batchSize,
  checkBatchWindow,
  bucketArns,
  scheduleExpression,
  checkOwnBuckets,
  fileSystemArns,
  /** Serverless variable resolvers (`${file(./deploy/params.cjs):…}`). */
  resolvers: {
    s3RulePattern: async (ctx) => s3RulePattern(await buckets(ctx)),
    bucketArns: async (ctx) => bucketArns(await buckets(ctx)).buckets,
    objectArns: async (ctx) => bucketArns(await buckets(ctx)).objects,
    fileSystemArns: async (ctx) => fileSystemArns(await param('fileSystemAccessPointArn')(ctx)),
    subnetIds: async (ctx) => list(await param('subnetIds')(ctx)),
    securityGroupIds: async (ctx) => list(await param('securityGroupIds')(ctx)),
    routeTableIds: async (ctx) => list(await param('routeTableIds')(ctx)),
    batchSize: async (ctx) => {
      const size = batchSize(await param('batchSize')(ctx));
      checkBatchWindow(size, Number(await param('batchWindowSeconds')(ctx)));
      return size;
    },
    // Pipes: 0..300 s; SQS redrive: 1..1000 receives.
    batchWindowSeconds: integer('batchWindowSeconds', 0, 300),
    maxReceiveCount: integer('maxReceiveCount', 1, 1000),
    oldestMessageAlarmSeconds: integer('oldestMessageAlarmSeconds', 1, 1209600),
    logRetentionDays: integer('logRetentionDays', 1, 3653),
    reconcileSchedule: async (ctx) => scheduleExpression(await param('reconcileSchedule')(ctx)),
    healthSchedule: async (ctx) => scheduleExpression(await param('healthSchedule')(ctx), 'healthSchedule'),
  },
};
