/**
 * `node --import tsx bench/profile.ts FILE.cpuprofile [top]`: where a
 * `--cpu-prof` profile of the bucketlink child (`npm run bench -- CASE
 * --profile`) spent its time — self time by package/file and by function —
 * so a claim about a slow stage rests on a profile, not a guess.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** `node_modules/@aws-sdk/client-s3/...` → `@aws-sdk/client-s3`; our files stay as their path. */
export function owner(url: string): string {
  if (!url) return '(native / idle / gc)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + 'node_modules/'.length).split('/');
    return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
  }
  if (url.startsWith('node:')) return url;
  const source = url.indexOf('/src/');
  return source >= 0 ? url.slice(source + 1) : url;
}

/** Self time (ms) per key, descending. */
export function selfTime(profile: CpuProfile, key: (node: ProfileNode) => string): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const node = byId.get(id)!;
    const k = key(node);
    totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

/**
 * Inclusive time (ms) per key: a sample counts once for every distinct key
 * on its stack, so `s3rver` includes the SDK-free work s3rver itself calls.
 */
export function inclusiveTime(
  profile: CpuProfile,
  key: (node: ProfileNode) => string | undefined,
): Array<[string, number]> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const keys = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = key(byId.get(at)!);
      if (k) keys.add(k);
    }
    for (const k of keys) totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

async function main() {
  const [path, topArg] = process.argv.slice(2);
  if (!path) throw new Error('usage: bench/profile.ts FILE.cpuprofile [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const print = (title: string, rows: Array<[string, number]>) => {
    process.stdout.write(`\n${title}\n`);
    for (const [name, ms] of rows.slice(0, top))
      process.stdout.write(
        `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / wallMs).toFixed(1).padStart(5)}%  ${name}\n`,
      );
  };
  process.stdout.write(`profile ${path}: ${(wallMs / 1000).toFixed(1)} s of wall time\n`);
  print(
    'self time by package / file',
    selfTime(profile, (n) => owner(n.callFrame.url)),
  );
  print(
    'inclusive time by package / file',
    inclusiveTime(profile, (n) => (n.callFrame.url ? owner(n.callFrame.url) : undefined)),
  );
  print(
    'inclusive time by bucketlink function',
    inclusiveTime(profile, (n) =>
      n.callFrame.url.includes('/src/')
        ? `${n.callFrame.functionName || '(anonymous)'}  ${owner(n.callFrame.url)}`
        : undefined,
    ),
  );
  print(
    'self time by function',
    selfTime(
      profile,
      (n) =>
        `${n.callFrame.functionName || '(anonymous)'}  ${owner(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`,
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
