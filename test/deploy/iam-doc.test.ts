import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadTemplate, templatePresent } from './template.ts';

const require = createRequire(import.meta.url);
const iamDoc = require('../../deploy/iam-doc.cjs') as {
  generate(template: unknown): string;
  section(doc: string): { start: number; end: number };
  DOC: string;
};

describe.skipIf(!templatePresent)('docs/deploy.md', () => {
  it('lists the IAM of every role exactly as the packaged template has it', () => {
    const doc = readFileSync(iamDoc.DOC, 'utf8');
    const { start, end } = iamDoc.section(doc);
    // On a difference: `npm run package:check`, then `node deploy/iam-doc.cjs --write`.
    expect(doc.slice(start, end)).toBe(iamDoc.generate(loadTemplate()));
  });
});
