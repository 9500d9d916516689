import { describe, expect, it } from 'vitest';
import { watcherOptions } from '../../../src/agent/watch-options.ts';

describe('watcherOptions', () => {
  it('keeps every default when an option is passed as undefined (an unset CLI flag)', () => {
    const options = watcherOptions({
      root: '/fs',
      emit: () => undefined,
      quietMs: undefined,
      windowMs: undefined,
      maxChanges: undefined,
      renameWindowMs: undefined,
    });
    expect(options).toMatchObject({ quietMs: 100, windowMs: 20, maxChanges: 40, renameWindowMs: 1_000 });
    expect(typeof options.host).toBe('string');
    expect(typeof options.nextSeq).toBe('function');
  });

  it('derives the rename window from a given quiet period', () => {
    expect(watcherOptions({ root: '/fs', emit: () => undefined, quietMs: 400 }).renameWindowMs).toBe(1_600);
  });
});
