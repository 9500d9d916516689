import { Command, InvalidArgumentError, Option } from 'commander';
import { localCommand } from './local.ts';
import { ControlClient } from './transport.ts';

/**
 * `bucketlink`: JSON on stdout (FSx API field names in camelCase), errors on
 * stderr with a non-zero exit.
 */

const CHANGE_KINDS = ['NEW', 'CHANGED', 'DELETED'];

function changeKinds(value: string): string[] {
  const kinds = value === '' ? [] : value.split(',').map((kind) => kind.trim().toUpperCase());
  const bad = kinds.filter((kind) => !CHANGE_KINDS.includes(kind));
  if (bad.length)
    throw new InvalidArgumentError(
      `expected a comma-separated subset of ${CHANGE_KINDS.join(',')}, got ${bad.join(',')}`,
    );
  return kinds;
}

const conflictPolicy = new Option('--conflict-policy <policy>', 'what wins when both sides changed').choices([
  'KEEP_BOTH',
  'S3_WINS',
  'FS_WINS',
  'NEWER',
]);

function endpointOption() {
  return new Option('--endpoint <url>', 'control endpoint of `bucketlink local`')
    .env('BUCKETLINK_ENDPOINT')
    .default('http://127.0.0.1:4567');
}

async function run(endpoint: string, request: Record<string, unknown>): Promise<void> {
  const response = await new ControlClient(endpoint).send(request);
  process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
}

const program = new Command('bucketlink')
  .description('Keep file-system directories and S3 buckets in sync, both ways.')
  .showHelpAfterError();

program.addCommand(localCommand());

const associations = program.command('associations').description('data repository associations');

associations
  .command('create')
  .description('link a file-system path to an S3 location')
  .requiredOption('--file-system-path <path>', 'e.g. /logs')
  .requiredOption('--data-repository-path <s3url>', 'e.g. s3://logs/ or s3://bucket/prefix/')
  .option('--auto-import <kinds>', 'NEW,CHANGED,DELETED (empty to disable)', changeKinds)
  .option('--auto-export <kinds>', 'NEW,CHANGED,DELETED (empty to disable)', changeKinds)
  .option('--no-batch-import-meta-data-on-create', 'do not sync what both sides already hold at creation')
  .addOption(conflictPolicy)
  .addOption(endpointOption())
  .action(async (options) => {
    await run(options.endpoint, {
      action: 'createAssociation',
      fileSystemPath: options.fileSystemPath,
      dataRepositoryPath: options.dataRepositoryPath,
      ...(options.autoImport ? { autoImport: options.autoImport } : {}),
      ...(options.autoExport ? { autoExport: options.autoExport } : {}),
      batchImportMetaDataOnCreate: options.batchImportMetaDataOnCreate,
      ...(options.conflictPolicy ? { conflictPolicy: options.conflictPolicy } : {}),
    });
  });

associations
  .command('describe')
  .description('show associations (all, or the given IDs)')
  .argument('[ids...]')
  .addOption(endpointOption())
  .action(async (ids: string[], options) => {
    await run(options.endpoint, {
      action: 'describeAssociations',
      ...(ids.length ? { associationIds: ids } : {}),
    });
  });

associations
  .command('update')
  .description('change an association’s policies (paths are immutable: delete and recreate)')
  .argument('<id>')
  .option('--auto-import <kinds>', 'NEW,CHANGED,DELETED (empty to disable)', changeKinds)
  .option('--auto-export <kinds>', 'NEW,CHANGED,DELETED (empty to disable)', changeKinds)
  .addOption(conflictPolicy)
  .addOption(endpointOption())
  .action(async (id: string, options) => {
    await run(options.endpoint, {
      action: 'updateAssociation',
      associationId: id,
      ...(options.autoImport ? { autoImport: options.autoImport } : {}),
      ...(options.autoExport ? { autoExport: options.autoExport } : {}),
      ...(options.conflictPolicy ? { conflictPolicy: options.conflictPolicy } : {}),
    });
  });

associations
  .command('delete')
  .description('remove an association (files stay unless asked)')
  .argument('<id>')
  .option('--delete-data-in-file-system', "also delete the association's files")
  .addOption(endpointOption())
  .action(async (id: string, options) => {
    await run(options.endpoint, {
      action: 'deleteAssociation',
      associationId: id,
      deleteDataInFileSystem: Boolean(options.deleteDataInFileSystem),
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = (error as { code?: string }).code ?? (error as Error).name;
  process.stderr.write(`bucketlink: ${code}: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
