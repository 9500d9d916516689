import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * What a change costs in Lambda invocations on AWS, counted from the shipped
 * definitions and serverless.yml's default batch sizes (issue 14: apply
 * invocations per change ≤ 0.1 with full batches). A Task inside a Map runs
 * once per item; one outside runs once per execution.
 */

interface State {
  Type: string;
  Parameters?: { FunctionName?: string };
  ItemProcessor?: { States: Record<string, State> };
  Iterator?: { States: Record<string, State> };
  ItemBatcher?: { MaxItemsPerBatch?: number };
}

const definition = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../statemachines/${name}`, import.meta.url), 'utf8')) as {
    States: Record<string, State>;
  };

/** Every Task calling `placeholder`, with the Maps it sits in (outermost first). */
function callers(states: Record<string, State>, placeholder: string, maps: State[] = []): State[][] {
  return Object.values(states).flatMap((state) => {
    if (state.Type === 'Task' && state.Parameters?.FunctionName === `\${${placeholder}}`) return [maps];
    const inner = state.ItemProcessor ?? state.Iterator;
    return inner ? callers(inner.States, placeholder, [...maps, state]) : [];
  });
}

/** serverless.yml's default for a deploy parameter. */
function defaultParam(name: string): number {
  const yml = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
  const match = new RegExp(`^\\s+${name}: "?(\\d+)"?`, 'm').exec(yml);
  if (!match) throw new Error(`serverless.yml has no default for ${name}`);
  return Number(match[1]);
}

describe('apply invocations per change', () => {
  it('the sync machine invokes apply once per Pipe batch, not once per path: ≤ 0.1 per change', () => {
    const paths = callers(definition('sync.asl.json').States, 'ApplyFunctionArn');
    expect(paths).toEqual([[]]);
    const batchSize = defaultParam('batchSize');
    expect(1 / batchSize).toBeLessThanOrEqual(0.1);
  });

  it('the repository-task machine invokes apply once per Distributed Map batch', () => {
    const paths = callers(definition('repository-task.asl.json').States, 'ApplyFunctionArn');
    expect(paths.length).toBeGreaterThan(0);
    for (const maps of paths) {
      expect(maps).toHaveLength(1);
      const perBatch = maps[0]!.ItemBatcher?.MaxItemsPerBatch ?? 1;
      expect(1 / perBatch).toBeLessThanOrEqual(0.1);
    }
  });
});
