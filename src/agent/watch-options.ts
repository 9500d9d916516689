import type { BigIntStats } from 'node:fs';
import { hostname } from 'node:os';
import type { AgentChangeEvent } from '../core/events.ts';
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

/**
 * The options with their defaults. `?? default` per option, not a spread
 * over the defaults: an option passed as undefined (an unset CLI flag) keeps
 * its default instead of becoming a 1 ms timer.
 */
export function watcherOptions(options: WatcherOptions): Required<WatcherOptions> {
  const quietMs = options.quietMs ?? 100;
  return {
    ...options,
    quietMs,
    windowMs: options.windowMs ?? 20,
    maxChanges: options.maxChanges ?? 40,
    host: options.host ?? hostname(),
    nextSeq: options.nextSeq ?? sequence(),
    renameWindowMs: options.renameWindowMs ?? Math.max(1_000, 4 * quietMs),
  };
}
