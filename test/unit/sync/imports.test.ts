import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The engine's phases run one way (docs/architecture.md §2.1): no module under
 * src/ other than the handlers imports the per-path driver `src/sync/apply.ts`,
 * and the relative imports of src/ have no circle. Read from the sources, so a
 * new import is checked without a list to keep.
 */
const SRC = resolve(import.meta.dirname, '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports (type-only ones included: a circle of types is still a circle to read). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from '(\.{1,2}\/[^']+\.ts)'/gms)].map((m) =>
    resolve(file, '..', m[1]!),
  );
}

const graph = new Map(sources(SRC).map((file) => [file, importsOf(file)]));
const name = (file: string) => relative(SRC, file);

describe('the import graph of src/', () => {
  it('has apply.ts imported by the handlers alone', () => {
    const apply = join(SRC, 'sync/apply.ts');
    const importers = [...graph].filter(([, deps]) => deps.includes(apply)).map(([file]) => name(file));
    expect(importers).toEqual(['handlers.ts']);
  });

  it('has no import circle', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...trail.slice(trail.indexOf(file)), file].map(name).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const dep of graph.get(file) ?? []) visit(dep, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).toEqual([]);
  });
});
