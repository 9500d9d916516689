import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The control API's credential. `bucketlink local` draws a random token at
 * start and writes it twice, both mode 0600: to `<state>/control-token`, and
 * to a per-user file keyed by the endpoint's host and port, so the CLI finds
 * it from `--endpoint` alone. `BUCKETLINK_TOKEN` overrides the lookup (a
 * client on another machine, or a script).
 */

/** The request header the token travels in. */
export const TOKEN_HEADER = 'x-bucketlink-token';
export const TOKEN_FILE = 'control-token';

/** Where the per-user token files live: BUCKETLINK_CONFIG_DIR, else $XDG_CONFIG_HOME/bucketlink, else ~/.config/bucketlink. */
export function configDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BUCKETLINK_CONFIG_DIR) return env.BUCKETLINK_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'bucketlink');
}

function tokenPath(host: string, port: number | string, env?: NodeJS.ProcessEnv): string {
  // ':' and the brackets of an IPv6 literal are not welcome in every file name.
  const safeHost = host.replace(/[^A-Za-z0-9.-]/g, '_');
  return join(configDirectory(env), 'tokens', `${safeHost}_${port}`);
}

export function newToken(): string {
  return randomBytes(32).toString('hex');
}

async function writePrivate(path: string, token: string): Promise<void> {
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file.
  await chmod(path, 0o600);
}

/** Host names a client on this machine may use for a runtime bound to `host`. */
function localNames(host: string): string[] {
  const loopback = ['127.0.0.1', 'localhost', '::1'];
  if (host === '0.0.0.0' || host === '::') return [host, ...loopback];
  return loopback.includes(host) ? [host, ...loopback.filter((name) => name !== host)] : [host];
}

/** Writes the token for a runtime listening on host:port; returns a function that removes what it wrote. */
export async function publishToken(
  token: string,
  options: { state: string; host: string; port: number; env?: NodeJS.ProcessEnv },
): Promise<() => Promise<void>> {
  await writePrivate(join(options.state, TOKEN_FILE), token);
  const directory = join(configDirectory(options.env), 'tokens');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const written = localNames(options.host).map((name) => tokenPath(name, options.port, options.env));
  for (const path of written) await writePrivate(path, token);
  return async () => {
    for (const path of written) {
      // A later runtime on the same port may have replaced it; leave that one alone.
      const current = await readFile(path, 'utf8').catch(() => '');
      if (current.trim() === token) await rm(path, { force: true });
    }
  };
}

/** The token a client should send to `endpoint`: BUCKETLINK_TOKEN, else the per-user file for its host:port. */
export async function findToken(
  endpoint: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (env.BUCKETLINK_TOKEN) return env.BUCKETLINK_TOKEN;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const token = await readFile(tokenPath(host, port, env), 'utf8').catch(() => undefined);
  return token?.trim() || undefined;
}

/** Constant-time comparison, so the reply's timing does not tell how much of a guess was right. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
