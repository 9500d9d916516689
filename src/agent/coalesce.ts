import { randomUUID } from 'node:crypto';
import {
  AGENT_DETAIL_TYPE,
  AGENT_SCHEMA_VERSION,
  AGENT_SOURCE,
  type AgentChangeEvent,
  type FileSystemChange,
} from '../core/events.ts';

/** EventBridge's limit is 256 KB per PutEvents call; ours keeps a Pipe batch of entries under Step Functions' 256 KB input. */
export const MAX_ENTRY_BYTES = 8 * 1024;
/** Room for the envelope (`schema`, `host`, brackets) around the changes. */
const ENVELOPE_BYTES = 512;

export interface GroupOptions {
  maxChanges?: number;
  maxBytes?: number;
}

/**
 * Coalesces changes per path inside one window: the last change of a path
 * wins, except that a path created and changed again stays `created`, and a
 * rename keeps its `oldPath`. Order follows each path's last change.
 */
export function coalesceByPath(changes: FileSystemChange[]): FileSystemChange[] {
  const byPath = new Map<string, FileSystemChange>();
  for (const change of changes) {
    const previous = byPath.get(change.path);
    byPath.delete(change.path);
    if (previous && change.op !== 'deleted') {
      const op = previous.op === 'created' || previous.op === 'renamed' ? previous.op : change.op;
      // Created and then renamed in one window: the old path was never reported, so it is just new here.
      const oldPath = op === 'created' ? undefined : (change.oldPath ?? previous.oldPath);
      const { oldPath: _, ...rest } = change;
      byPath.set(change.path, { ...rest, op, ...(oldPath ? { oldPath } : {}) });
    } else {
      byPath.set(change.path, change);
    }
  }
  return [...byPath.values()];
}

/** Splits changes into groups that each fit one PutEvents entry (≤ maxChanges and ≤ maxBytes of JSON). */
export function groupChanges(changes: FileSystemChange[], options: GroupOptions = {}): FileSystemChange[][] {
  const maxChanges = options.maxChanges ?? 40;
  const budget = (options.maxBytes ?? MAX_ENTRY_BYTES) - ENVELOPE_BYTES;
  const groups: FileSystemChange[][] = [];
  let group: FileSystemChange[] = [];
  let bytes = 0;
  for (const change of changes) {
    const size = Buffer.byteLength(JSON.stringify(change)) + 1;
    if (group.length && (group.length >= maxChanges || bytes + size > budget)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(change);
    bytes += size;
  }
  if (group.length) groups.push(group);
  return groups;
}

/** The event detail of one entry (schema v1). */
export function changeDetail(host: string, changes: FileSystemChange[]): AgentChangeEvent['detail'] {
  return { schema: AGENT_SCHEMA_VERSION, host, changes };
}

/** A whole EventBridge event, as the bus delivers it to rules (local mode posts these in process). */
export function changeEvent(host: string, changes: FileSystemChange[]): AgentChangeEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': AGENT_DETAIL_TYPE,
    source: AGENT_SOURCE,
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'local',
    resources: [],
    detail: changeDetail(host, changes),
  };
}

/**
 * Change sequence numbers: increasing per host, across restarts too (they
 * start from the clock in microseconds), so a consumer can order two
 * changes of one path and spot a replayed entry.
 */
export function sequence(): () => number {
  let last = 0;
  return () => {
    last = Math.max(last + 1, Date.now() * 1000);
    return last;
  };
}
