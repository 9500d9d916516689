import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareSequencer } from '../../../src/core/sequencer.ts';

describe('compareSequencer', () => {
  it('orders sequencers of equal length as hexadecimal strings', () => {
    expect(compareSequencer('0055AED6DCD90281E5', '0055AED6DCD90281E6')).toBe(-1);
    expect(compareSequencer('0055AED6DCD90281E6', '0055AED6DCD90281E5')).toBe(1);
    expect(compareSequencer('0055AED6DCD90281E5', '0055AED6DCD90281E5')).toBe(0);
  });

  it('right-pads the shorter sequencer with zeros before comparing, as AWS documents', () => {
    // Right padding makes 'A1' into 'A100', which is later than 'A0FF'.
    expect(compareSequencer('A1', 'A0FF')).toBe(1);
    expect(compareSequencer('A0FF', 'A1')).toBe(-1);
    // Left padding would have said the opposite: '00A1' < 'A0FF'.
  });

  it('treats trailing zeros as padding, so padded values are the same event', () => {
    expect(compareSequencer('ABC', 'ABC000')).toBe(0);
  });

  it('ignores the case of hex digits', () => {
    expect(compareSequencer('00aed6', '00AED6')).toBe(0);
    expect(compareSequencer('00aed7', '00AED6')).toBe(1);
  });

  it('is antisymmetric and transitive', () => {
    const sequencer = fc.stringMatching(/^[0-9A-F]{1,20}$/);
    fc.assert(
      fc.property(sequencer, sequencer, sequencer, (a, b, c) => {
        expect(compareSequencer(a, b)).toBe(-compareSequencer(b, a) || 0);
        if (compareSequencer(a, b) <= 0 && compareSequencer(b, c) <= 0) {
          expect(compareSequencer(a, c)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });
});
