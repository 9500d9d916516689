import { readFileSync } from 'node:fs';
import { type Command, CommanderError } from 'commander';
import { errorCode } from '../core/errors.ts';

/**
 * How the bucketlink command fails: one line on stderr,
 * `bucketlink: <Code>: <message>`, and a non-zero exit. Usage mistakes
 * commander finds (unknown option or command, missing argument, bad value)
 * are input errors, `BadRequest` as FSx answers them, with a pointer to
 * `--help` instead of the whole help text.
 */

export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(manifest.version);
}

/** The command each usage error came from (commander does not carry it on the error). */
const usageCommands = new WeakMap<CommanderError, Command>();

/** Makes commander throw its usage errors (for failureOf) instead of printing help and exiting, on every command. */
export function reportUsageErrors(command: Command): void {
  command.exitOverride((error) => {
    usageCommands.set(error, command);
    throw error;
  });
  command.configureOutput({ outputError: () => undefined });
  command.showHelpAfterError(false);
  for (const sub of command.commands) reportUsageErrors(sub);
}

/** The path of the command that failed, for the `--help` hint (`bucketlink tasks create`). */
function commandPath(command: Command | undefined): string {
  const names: string[] = [];
  for (let at = command; at; at = at.parent ?? undefined) names.unshift(at.name());
  return names.join(' ') || 'bucketlink';
}

export interface Failure {
  /** What to print on stderr; empty when commander already wrote what was asked (help, version). */
  line: string;
  exitCode: number;
}

/** The one line and exit status of anything the command threw. */
export function failureOf(error: unknown): Failure {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    )
      return { line: '', exitCode: error.exitCode };
    const message = error.message
      .replace(/^error: /, '')
      .replace(/\s*\n\s*/g, ' ')
      .trim();
    const help = `${commandPath(usageCommands.get(error))} --help`;
    return { line: `bucketlink: BadRequest: ${message} (see ${help})`, exitCode: 2 };
  }
  const message = (error as Error)?.message ?? String(error);
  return { line: `bucketlink: ${errorCode(error)}: ${message.replace(/\s*\n\s*/g, ' ')}`, exitCode: 1 };
}
