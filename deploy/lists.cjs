'use strict';

/** `a, b,,c` → `['a', 'b', 'c']`: deploy parameters are strings; lists are comma-separated. */
function list(text) {
  return String(text)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

module.exports = { list };
