/**
 * Orders two S3 event sequencers of the same key: -1 when `a` happened
 * first, 1 when `b` did, 0 when they are the same event.
 *
 * AWS documents the rule in "Event message structure"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
 * "The sequencers can be of different lengths. So, to compare these values,
 * first right pad the shorter value with zeros, and then do a lexicographical
 * comparison." (Older revisions of that page said "left pad"; AWS corrected
 * it.) Sequencers only order events of one key, never across keys. Case is
 * folded because the value is hexadecimal and writers differ in case.
 */
export function compareSequencer(a: string, b: string): -1 | 0 | 1 {
  const width = Math.max(a.length, b.length);
  const left = a.toUpperCase().padEnd(width, '0');
  const right = b.toUpperCase().padEnd(width, '0');
  if (left === right) return 0;
  return left < right ? -1 : 1;
}
