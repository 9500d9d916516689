import { baseName, joinPath, MAX_SEGMENT_BYTES, parentPath } from './mapping.ts';

/** Where the conflict copy of a path goes, and what makes its name unique. */
export interface ConflictNameOptions {
  /** When the conflict was resolved; rendered in UTC to the second. */
  now: Date;
  /** The host that kept the copy, or "s3"; reduced to [A-Za-z0-9-]. */
  origin: string;
  /** Four hex digits, so two conflicts in one second get different names. */
  random4: string;
}

/** `2024-05-06T07:08:09.123Z` → `20240506T070809Z`. */
function compactUtc(now: Date): string {
  return `${now.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

function sanitizeOrigin(origin: string): string {
  const clean = origin
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 63);
  return clean === '' ? 'unknown' : clean;
}

/**
 * Splits a file name at its last dot. Dotfiles (`.bashrc`), names without a
 * dot and names ending in a dot have no extension, so the marker never lands
 * in front of the whole name or after a bare dot.
 */
function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext: name.slice(dot) };
}

/** Cuts a string to at most `bytes` UTF-8 bytes without splitting a character. */
function truncateUtf8(s: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const char of s) {
    const size = Buffer.byteLength(char);
    if (used + size > bytes) break;
    out += char;
    used += size;
  }
  return out;
}

/**
 * The name a conflict's file-system version is kept under, beside the
 * original: `<dir>/<name>.conflict-<yyyymmddThhmmssZ>-<origin>-<hex4><ext>`.
 * The extension stays last so the copy still opens with the right program;
 * a long stem is shortened so the name fits in 255 bytes.
 */
export function conflictPath(path: string, options: ConflictNameOptions): string {
  const random = options.random4.toLowerCase();
  if (!/^[0-9a-f]{4}$/.test(random)) {
    throw new RangeError(`random4 must be four hex digits, got "${options.random4}"`);
  }
  const name = baseName(path);
  const marker = `.conflict-${compactUtc(options.now)}-${sanitizeOrigin(options.origin)}-${random}`;
  const room = MAX_SEGMENT_BYTES - Buffer.byteLength(marker);
  let { stem, ext } = splitExtension(name);
  // An extension too long to keep beside the marker becomes part of the stem.
  if (Buffer.byteLength(ext) >= room) [stem, ext] = [name, ''];
  const kept = `${truncateUtf8(stem, room - Buffer.byteLength(ext))}${marker}${ext}`;
  return joinPath(parentPath(path), kept);
}
