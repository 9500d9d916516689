/**
 * Options with defaults, merged one way everywhere.
 *
 * A spread (`{ ...defaults, ...options }`) lets an option passed as
 * `undefined` (an unset CLI flag, an optional field forwarded as is) replace
 * its default: a retry delay became `NaN`, a 100 ms quiet window 1 ms. Here a
 * key whose given value is `undefined` keeps its default.
 */
export function withDefaults<D extends object, O extends object>(
  defaults: D,
  options: O | undefined,
): Omit<O, keyof D> & D {
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value !== undefined) merged[key] = value;
  }
  return merged as Omit<O, keyof D> & D;
}
