import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { findSpreadsOverDefaults } from '../../support/spread-check.ts';

/**
 * Options meet their defaults only through `withDefaults` (src/core/options.ts):
 * a spread of options over defaults lets an option passed as `undefined`
 * replace its default (the agent's NaN retry delay, the watcher's 1 ms quiet
 * window). This finds every such spread in src/ and functions/ from the types,
 * so a new one fails CI without anyone keeping a list.
 */

const ROOT = new URL('../../../', import.meta.url).pathname;

function typeScriptFiles(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

function programOf(files: string[], extra: Record<string, string> = {}): ts.Program {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  )!;
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile;
  host.readFile = (name) => extra[name] ?? readFile(name);
  host.fileExists = (name) => name in extra || ts.sys.fileExists(name);
  return ts.createProgram({ rootNames: [...files, ...Object.keys(extra)], options: config.options, host });
}

describe('options with defaults', () => {
  it('finds the spread-over-defaults shape, and leaves withDefaults and spreads that cannot clear a key alone', () => {
    const file = join(ROOT, 'src', '__spread_fixture__.ts');
    const source = [
      "import { withDefaults } from './core/options.ts';",
      'interface Options { retryBaseMs?: number; name: string; maybe: number | undefined }',
      'export const flagged = (options: Options) => ({ retryBaseMs: 200, ...options });',
      'const DEFAULTS = { retryBaseMs: 200, maybe: 1 };',
      'export const flaggedToo = (options: Options) => ({ ...DEFAULTS, ...options });',
      'export const fine = (options: Options) => withDefaults({ retryBaseMs: 200 }, options);',
      "export const overridden = (options: Options) => ({ ...options, retryBaseMs: 1, name: 'x' });",
      "export const required = (options: { name: string }) => ({ name: 'default', ...options });",
      'export const assigned = (options: Options) => Object.assign({ retryBaseMs: 200 }, options);',
    ].join('\n');

    const found = findSpreadsOverDefaults(programOf([], { [file]: source }), [file]);

    expect(found.map(({ line, keys }) => ({ line, keys }))).toEqual([
      { line: 3, keys: ['retryBaseMs'] },
      { line: 5, keys: ['retryBaseMs', 'maybe'] },
      { line: 9, keys: ['retryBaseMs'] },
    ]);
  });

  it('has no spread of options over defaults anywhere in src/ or functions/', () => {
    const files = [...typeScriptFiles(join(ROOT, 'src')), ...typeScriptFiles(join(ROOT, 'functions'))];

    const found = findSpreadsOverDefaults(programOf(files), files);

    expect(
      found.map((f) => `${f.file.slice(ROOT.length)}:${f.line} (${f.keys.join(', ')}): ${f.text}`),
    ).toEqual([]);
  }, 180_000);
});
