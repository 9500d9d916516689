import type { Association, ChangeKind } from '../../src/core/types.ts';

const ALL: ChangeKind[] = ['NEW', 'CHANGED', 'DELETED'];

/** An AVAILABLE association for unit tests; both policies default to NEW, CHANGED and DELETED. */
export function association(
  associationId: string,
  fileSystemPath: string,
  dataRepositoryPath: string,
  policy: { autoImport?: ChangeKind[]; autoExport?: ChangeKind[] } = {},
): Association {
  return {
    associationId,
    fileSystemPath,
    dataRepositoryPath,
    autoImport: policy.autoImport ?? ALL,
    autoExport: policy.autoExport ?? ALL,
    batchImportMetaDataOnCreate: false,
    conflictPolicy: 'KEEP_BOTH',
    lifecycle: 'AVAILABLE',
    creationTime: '2026-01-01T00:00:00Z',
  };
}
