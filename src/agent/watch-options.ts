import type { BigIntStats } from 'node:fs';
import { hostname } from 'node:os';
import type { AgentChangeEvent } from '../core/events.ts';
import { withDefaults } from '../core/options.ts';
import { sequence } from './coalesce.ts';

/** The watcher's options and defaults, and what it leaves out. */

export interface WatcherOptions {
  root: string;
  emit(event: AgentChangeEvent): void;
  /** How long a path must see no event before it is reported. */
  quietMs?: number;
  /** How long settled changes wait to be grouped into one event. */
  windowMs?: number;
  maxChanges?: number;
  host?: string;
  /**
   * The longest a delete waits for a create of the same inode (a rename); it waits only while
   * changes touched before it are still settling. Default max(1 s, 4 × quietMs).
   */
  renameWindowMs?: number;
  /** Sequence numbers for changes (shared with the agent's other sources). */
  nextSeq?: () => number;
}

const IGNORED_NAMES = ['.bucketlink'];
const TEMP_PREFIX = '.bucketlink-tmp-';

/** What makes a path's state: a change to any of these is reported. */
export function signatureOf(stat: BigIntStats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.mode}`;
}

export function isIgnoredName(name: string): boolean {
  return IGNORED_NAMES.includes(name) || name.startsWith(TEMP_PREFIX);
}

/** The documented defaults of WatcherOptions (the rename window follows the quiet period). */
export const WATCHER_DEFAULTS = { quietMs: 100, windowMs: 20, maxChanges: 40 };

/**
 * The options with their defaults, through withDefaults: an option passed as
 * undefined (an unset CLI flag) keeps its default instead of becoming a 1 ms
 * timer.
 */
export function watcherOptions(options: WatcherOptions): Required<WatcherOptions> {
  const merged = withDefaults(WATCHER_DEFAULTS, options);
  return withDefaults(
    {
      host: hostname(),
      nextSeq: sequence(),
      renameWindowMs: Math.max(1_000, 4 * merged.quietMs),
    },
    merged,
  );
}
