import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Runs several async workers against a real DynamoDB peer one request at a
 * time, in an order the test picks. Each worker gets a client that parks every
 * request at a gate; the driver releases one gate only when every live worker
 * is parked, so the server sees requests in exactly the chosen order and a
 * failing fast-check run replays the same interleaving.
 */
export class Interleaver {
  /** Server order of the last request executed. */
  private seq = 0;
  private readonly gates: Array<() => void> = [];

  /** A client for one worker; `onSuccess` gets the server order of each request that succeeded. */
  client(real: DynamoDBDocumentClient, onSuccess: (seq: number) => void): DynamoDBDocumentClient {
    const send = async (command: unknown) => {
      await new Promise<void>((resolve) => this.gates.push(resolve));
      const seq = ++this.seq;
      const output = await (real.send as (command: unknown) => Promise<unknown>)(command);
      onSuccess(seq);
      return output;
    };
    return { send } as unknown as DynamoDBDocumentClient;
  }

  /** Start the workers and release their requests in the order `choices` picks (indices into the parked ones). */
  async run(workers: Array<() => Promise<void>>, choices: number[]): Promise<void> {
    let finished = 0;
    const running = workers.map((worker) =>
      worker().finally(() => {
        finished++;
      }),
    );
    // Marked handled now; Promise.all below still reports the first failure.
    for (const promise of running) promise.catch(() => {});
    for (let turn = 0; ; turn++) {
      // Wait until the last released request has come back and its worker has
      // either parked again or finished: only then is the next pick meaningful.
      while (this.gates.length + finished < workers.length) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (finished === workers.length) break;
      const pick = (choices[turn % choices.length] ?? 0) % this.gates.length;
      const [release] = this.gates.splice(pick, 1);
      release?.();
    }
    await Promise.all(running);
  }
}
