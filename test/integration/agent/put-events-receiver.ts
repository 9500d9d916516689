import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import type { FileSystemChange } from '../../../src/core/events.ts';

export interface ReceivedEntry {
  host: string;
  changes: FileSystemChange[];
}

/**
 * A PutEvents endpoint for tests: records every entry it accepts. It can be
 * closed (connections refused) and reopened on the same port, which is the
 * outage the agent must ride out.
 */
export class PutEventsReceiver {
  readonly entries: ReceivedEntry[] = [];
  calls = 0;
  port = 0;
  #server: Server | undefined;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    const server = createServer(async (request, response) => {
      const body = JSON.parse(await text(request)) as { Entries: Array<{ Detail: string }> };
      this.calls++;
      const results = body.Entries.map((entry, i) => {
        const detail = JSON.parse(entry.Detail) as ReceivedEntry;
        this.entries.push({ host: detail.host, changes: detail.changes });
        return { EventId: `${this.calls}-${i}` };
      });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ FailedEntryCount: 0, Entries: results }));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  changes(): FileSystemChange[] {
    return this.entries.flatMap((entry) => entry.changes);
  }

  /** Entries received more than once, by their changes' sequence numbers. */
  duplicateEntries(): number {
    const seen = new Set<string>();
    let duplicates = 0;
    for (const entry of this.entries) {
      const key = entry.changes.map((c) => c.seq).join(',');
      if (seen.has(key)) duplicates++;
      seen.add(key);
    }
    return duplicates;
  }
}
