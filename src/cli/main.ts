import { Command, InvalidArgumentError, Option } from 'commander';
import { agentCommand } from './agent.ts';
import { eventsCommand } from './events.ts';
import { failureOf, packageVersion, reportUsageErrors } from './failure.ts';
import { localCommand } from './local.ts';
import { controlClientFor, type TargetOptions } from './stage.ts';
import { statusCommand } from './status.ts';
import { endpointOption, regionOption, stageOption } from './target.ts';
import { tasksCommand } from './tasks.ts';

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

/** Where a management command goes: the local endpoint, or with --stage the deployed `control` function. */
async function run(target: string | TargetOptions, request: Record<string, unknown>): Promise<void> {
  const client = controlClientFor(typeof target === 'string' ? { endpoint: target } : target);
  const response = await client.send(request);
  process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
}

const program = new Command('bucketlink')
  .description('Keep file-system directories and S3 buckets in sync, both ways.')
  .version(packageVersion(), '-V, --version', 'print the bucketlink version');

program.addCommand(localCommand());
program.addCommand(agentCommand());
program.addCommand(tasksCommand());
program.addCommand(eventsCommand());
program.addCommand(statusCommand());

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
  .addOption(stageOption())
  .addOption(regionOption())
  .action(async (options) => {
    await run(options, {
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
  .addOption(stageOption())
  .addOption(regionOption())
  .action(async (ids: string[], options) => {
    await run(options, {
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
  .addOption(stageOption())
  .addOption(regionOption())
  .action(async (id: string, options) => {
    await run(options, {
      action: 'updateAssociation',
      associationId: id,
      ...(options.autoImport ? { autoImport: options.autoImport } : {}),
      ...(options.autoExport ? { autoExport: options.autoExport } : {}),
      ...(options.conflictPolicy ? { conflictPolicy: options.conflictPolicy } : {}),
    });
  });

associations
  .command('resume')
  .description('let a MISCONFIGURED association act again after a paused mass delete')
  .argument('<id>')
  .addOption(endpointOption())
  .addOption(stageOption())
  .addOption(regionOption())
  .action(async (id: string, options) => {
    await run(options, { action: 'resumeAssociation', associationId: id });
  });

associations
  .command('delete')
  .description('remove an association (files stay unless asked)')
  .argument('<id>')
  .option('--delete-data-in-file-system', "also delete the association's files")
  .addOption(endpointOption())
  .addOption(stageOption())
  .addOption(regionOption())
  .action(async (id: string, options) => {
    await run(options, {
      action: 'deleteAssociation',
      associationId: id,
      deleteDataInFileSystem: Boolean(options.deleteDataInFileSystem),
    });
  });

reportUsageErrors(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const failure = failureOf(error);
  if (failure.line) process.stderr.write(`${failure.line}\n`);
  // Exit now: a half-started runtime (one server listening, the next refused) must not keep the process alive.
  process.exit(failure.exitCode);
}
