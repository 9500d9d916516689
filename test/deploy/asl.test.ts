import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * Every statemachines/*.asl.json passes asl-validator (the validator
 * serverless-step-functions runs too), with ARN and path checks on.
 */

type AslValidator = (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errorsText(separator?: string): string };

const validate = createRequire(import.meta.url)('asl-validator') as AslValidator;
const dir = new URL('../../statemachines/', import.meta.url);
const files = readdirSync(dir).filter((name) => name.endsWith('.asl.json'));

describe('statemachines/*.asl.json', () => {
  it('holds the sync machine at least', () => {
    expect(files).toContain('sync.asl.json');
  });

  it.each(files)('%s is valid Amazon States Language', (file) => {
    const definition = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    const result = validate(definition, { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('rejects a definition whose transition points nowhere (the check can fail)', () => {
    const definition = JSON.parse(readFileSync(new URL('sync.asl.json', dir), 'utf8'));
    definition.States.Plan.Next = 'NoSuchState';
    expect(validate(definition).isValid).toBe(false);
  });
});
