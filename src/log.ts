import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger for handlers, the local runtime and the agent:
 * `{ associationId, path, action, ms }`, never concatenated strings.
 * POWERTOOLS_LOG_LEVEL sets the level (local mode defaults it to WARN).
 */
export const logger = new Logger({ serviceName: 'bucketlink' });
