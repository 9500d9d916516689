import type S3rver from 's3rver';

interface ObjectStoreLike {
  deleteObject(bucket: string, key: string): Promise<void>;
}

/**
 * s3rver's file store deletes an object's files, then removes the parent
 * directories the delete left empty. Two deletes in one directory at once
 * (what `aws s3 rm --recursive` sends) race there: one removes the
 * directory while the other still reads it, the other's clean-up throws
 * ENOENT, and s3rver then answers 500 and never emits that delete's event —
 * the object is gone and bucketlink never hears of it. The object's own
 * files are already unlinked when the clean-up runs, so a clean-up that
 * finds its directory gone (ENOENT) or refilled by a concurrent write
 * (ENOTEMPTY) has done its work.
 */
export function tolerateConcurrentDeleteCleanup(app: S3rver): void {
  const store = (app as unknown as { store: ObjectStoreLike }).store;
  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = async (bucket, key) => {
    try {
      await deleteObject(bucket, key);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw error;
    }
  };
}
