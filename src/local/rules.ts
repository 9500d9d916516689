import { AGENT_DETAIL_TYPE, AGENT_SOURCE } from '../core/events.ts';

/**
 * EventBridge rule matching, in process, for local mode. It implements the
 * content-filter subset bucketlink's rules use (EventBridge user guide,
 * "Event patterns" / "Content filtering"): arrays of exact values, nested
 * objects, `prefix`, `suffix`, `equals-ignore-case`, `anything-but`,
 * `exists`, `numeric` and `$or`. An operator it does not know throws, so a
 * rule that AWS would read differently never silently matches here.
 */

export type EventPattern = { [field: string]: PatternNode };
type PatternNode = MatchValue[] | EventPattern | EventPattern[];
type Scalar = string | number | boolean | null;
type MatchValue = Scalar | Record<string, unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Leaf values of the event field: an array field matches if any element does. */
function leaves(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function asStrings(value: unknown): string[] {
  return leaves(value).filter((v): v is string => typeof v === 'string');
}

function matchesAnythingBut(spec: unknown, value: unknown): boolean {
  if (isPlainObject(spec)) {
    if ('prefix' in spec) return typeof value === 'string' && !value.startsWith(String(spec.prefix));
    if ('suffix' in spec) return typeof value === 'string' && !value.endsWith(String(spec.suffix));
    if ('equals-ignore-case' in spec) {
      const excluded = asStrings(spec['equals-ignore-case']).map((s) => s.toLowerCase());
      return typeof value === 'string' && !excluded.includes(value.toLowerCase());
    }
    throw new Error(`unsupported anything-but operator ${JSON.stringify(spec)}`);
  }
  return !leaves(spec).some((excluded) => scalarEquals(excluded, value));
}

function matchesNumeric(spec: unknown, value: unknown): boolean {
  if (typeof value !== 'number' || !Array.isArray(spec)) return false;
  for (let i = 0; i + 1 < spec.length; i += 2) {
    const bound = Number(spec[i + 1]);
    const ok = {
      '<': value < bound,
      '<=': value <= bound,
      '=': value === bound,
      '>': value > bound,
      '>=': value >= bound,
    }[String(spec[i]) as '<'];
    if (ok === undefined) throw new Error(`unsupported numeric operator ${String(spec[i])}`);
    if (!ok) return false;
  }
  return true;
}

function scalarEquals(expected: unknown, actual: unknown): boolean {
  // EventBridge compares numbers by value (5 matches 5.0) and never a string to a number.
  return expected === actual;
}

/** Does one pattern element (exact value or operator object) match one leaf value? */
function matchesValue(matcher: MatchValue, value: unknown): boolean {
  if (!isPlainObject(matcher)) return value !== undefined && scalarEquals(matcher, value);
  const [operator, ...rest] = Object.keys(matcher);
  if (!operator || rest.length > 0)
    throw new Error(`pattern operator must have one key: ${JSON.stringify(matcher)}`);
  const spec = matcher[operator];
  if (value === undefined) return false;
  switch (operator) {
    case 'prefix':
      if (isPlainObject(spec) && 'equals-ignore-case' in spec) {
        return (
          typeof value === 'string' &&
          value.toLowerCase().startsWith(String(spec['equals-ignore-case']).toLowerCase())
        );
      }
      return typeof value === 'string' && value.startsWith(String(spec));
    case 'suffix':
      return typeof value === 'string' && value.endsWith(String(spec));
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === String(spec).toLowerCase();
    case 'anything-but':
      return matchesAnythingBut(spec, value);
    case 'numeric':
      return matchesNumeric(spec, value);
    default:
      throw new Error(`unsupported pattern operator ${operator}`);
  }
}

/** A field's array of matchers: any matcher matching any leaf of the value is enough. */
function matchesField(matchers: MatchValue[], value: unknown): boolean {
  return matchers.some((matcher) => {
    if (isPlainObject(matcher) && 'exists' in matcher) {
      // `exists` is about leaf fields; an array value counts as present unless empty.
      const present =
        value !== undefined && !(Array.isArray(value) && value.length === 0) && !isPlainObject(value);
      return matcher.exists === present;
    }
    return leaves(value).some((leaf) => matchesValue(matcher, leaf));
  });
}

/**
 * True when `event` matches the EventBridge `pattern`: every field the
 * pattern names must match; fields it does not name are ignored.
 */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  const subject = isPlainObject(event) ? event : {};
  return Object.entries(pattern).every(([field, node]) => {
    if (field === '$or') {
      if (!Array.isArray(node)) throw new Error('$or takes an array of patterns');
      return (node as EventPattern[]).some((alternative) => matchesPattern(alternative, subject));
    }
    const value = subject[field];
    if (Array.isArray(node)) {
      if (node.length === 0) throw new Error(`empty match array for ${field}`);
      return matchesField(node as MatchValue[], value);
    }
    if (isPlainObject(node)) return matchesPattern(node as EventPattern, value);
    throw new Error(`pattern field ${field} must be an array or an object`);
  });
}

/** A bucket name, or `{ prefix }` for every bucket whose name starts with it. */
export type BucketSelector = string | { prefix: string };

/**
 * The rule on the default bus that takes S3 "Object Created"/"Object
 * Deleted" events of the named buckets: the very pattern serverless.yml
 * declares from its bucket parameter.
 */
export function S3_RULE_PATTERN(buckets: readonly BucketSelector[]): EventPattern {
  // EventBridge rejects an empty match array, so an empty list is a configuration error, not "no buckets".
  if (buckets.length === 0) throw new Error('the S3 rule needs at least one bucket name or prefix');
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created', 'Object Deleted'],
    detail: { bucket: { name: buckets.map((b) => (typeof b === 'string' ? b : { prefix: b.prefix })) } },
  };
}

/** The rule on the bucketlink bus that takes host agents' change events. */
export const AGENT_RULE_PATTERN: EventPattern = {
  source: [AGENT_SOURCE],
  'detail-type': [AGENT_DETAIL_TYPE],
};
