import { describe, expect, it } from 'vitest';
import { withDefaults } from '../../../src/core/options.ts';

describe('withDefaults', () => {
  it('keeps a default when the option is passed as undefined', () => {
    const merged = withDefaults(
      { retryBaseMs: 200, retryMaxMs: 5_000 },
      { retryBaseMs: undefined, retryMaxMs: 10 },
    );
    expect(merged).toEqual({ retryBaseMs: 200, retryMaxMs: 10 });
  });

  it('keeps options that have no default, and takes null and 0 as given values', () => {
    const merged = withDefaults({ a: 1, b: 2 }, { a: 0, b: null as unknown as number, c: 'x' });
    expect(merged).toEqual({ a: 0, b: null, c: 'x' });
  });

  it('returns the defaults when no options are given', () => {
    expect(withDefaults({ a: 1 }, undefined)).toEqual({ a: 1 });
  });
});
