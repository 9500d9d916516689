import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SyncError } from '../core/errors.ts';
import { type BucketSelector, matchesPattern, S3_RULE_PATTERN } from '../local/rules.ts';

/**
 * S3 → EventBridge delivery for the buckets of a deployed stack. The S3 rule
 * is owned by CloudFormation and matches the buckets of the `buckets` deploy
 * parameter; nothing rewrites it at run time (that would be drift), so an
 * association on any other bucket would silently never auto-import and is
 * refused instead.
 */
export interface BucketNotifications {
  /** Throws BucketNotCoveredError (naming the deploy parameter) unless the deployed S3 rule matches `bucket`. */
  assertCovered(bucket: string): void;
  /** Turns on EventBridge delivery for `bucket`, keeping its other notification configurations. */
  enable(bucket: string): Promise<void>;
}

/** The deploy parameter that names the buckets (serverless.yml `params`). */
export const BUCKETS_PARAMETER = 'buckets';

/** An association names a bucket the deployed S3 rule does not match. */
export class BucketNotCoveredError extends SyncError {
  constructor(bucket: string, selectors: string) {
    super(
      'BucketNotCoveredByRule',
      `bucket ${bucket} is not matched by the deployed S3 rule (deploy parameter \`${BUCKETS_PARAMETER}\` is "${selectors}"); ` +
        `add it to \`${BUCKETS_PARAMETER}\` (a name, or a prefix ending in *) and redeploy: ` +
        `npx serverless deploy --stage <stage> --param="${BUCKETS_PARAMETER}=${selectors},${bucket}"`,
    );
  }
}

/** S3 refused to read or write the bucket's notification configuration. */
export class NotificationsNotEnabledError extends SyncError {
  constructor(bucket: string, cause: unknown) {
    super(
      'BucketNotificationsNotEnabled',
      `cannot turn on EventBridge notifications for bucket ${bucket}: ${(cause as Error).message}`,
      { cause, retryable: Boolean((cause as { $retryable?: unknown }).$retryable) },
    );
  }
}

/**
 * `logs,data-*` → `['logs', { prefix: 'data-' }]`, the same reading as
 * deploy/params.cjs gives the parameter when it builds the rule.
 */
export function parseBucketSelectors(text: string): BucketSelector[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error(`deploy parameter \`${BUCKETS_PARAMETER}\` is empty`);
  return entries.map((entry) => {
    const star = entry.indexOf('*');
    if (star === -1) return entry;
    if (star !== entry.length - 1 || star === 0)
      throw new Error(`deploy parameter \`${BUCKETS_PARAMETER}\`: "${entry}" — only a trailing * is allowed`);
    return { prefix: entry.slice(0, -1) };
  });
}

export interface S3BucketNotificationsOptions {
  /** Give it `followRegionRedirects: true`: buckets may live in other regions. */
  client: S3Client;
  /** The `buckets` deploy parameter as deployed, e.g. `logs,data-*`. */
  ruleBuckets: string;
}

/** BucketNotifications over the S3 API (GetBucketNotificationConfiguration / Put…). */
export class S3BucketNotifications implements BucketNotifications {
  readonly #client: S3Client;
  readonly #ruleBuckets: string;
  readonly #pattern;

  constructor(options: S3BucketNotificationsOptions) {
    this.#client = options.client;
    this.#ruleBuckets = options.ruleBuckets;
    this.#pattern = S3_RULE_PATTERN(parseBucketSelectors(options.ruleBuckets));
  }

  /** True when the deployed S3 rule matches events of `bucket`. */
  coveredByRule(bucket: string): boolean {
    // Match a sample event with the local rule matcher: the same semantics the S3 rule has on AWS.
    const event = { source: 'aws.s3', 'detail-type': 'Object Created', detail: { bucket: { name: bucket } } };
    return matchesPattern(this.#pattern, event);
  }

  assertCovered(bucket: string): void {
    if (!this.coveredByRule(bucket)) throw new BucketNotCoveredError(bucket, this.#ruleBuckets);
  }

  async enable(bucket: string): Promise<void> {
    try {
      const current = await this.#client.send(
        new GetBucketNotificationConfigurationCommand({ Bucket: bucket }),
      );
      if (current.EventBridgeConfiguration) return;
      // PutBucketNotificationConfiguration replaces the whole configuration, so
      // everything that was there goes back with EventBridge added. S3 offers
      // no condition on this pair: a concurrent writer between them can lose.
      await this.#client.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: bucket,
          NotificationConfiguration: {
            TopicConfigurations: current.TopicConfigurations,
            QueueConfigurations: current.QueueConfigurations,
            LambdaFunctionConfigurations: current.LambdaFunctionConfigurations,
            EventBridgeConfiguration: {},
          },
          // The existing destinations are someone else's; do not fail on (or test-message) them again.
          SkipDestinationValidation: true,
        }),
      );
    } catch (error) {
      throw new NotificationsNotEnabledError(bucket, error);
    }
  }
}
