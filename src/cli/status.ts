import { Command, Option } from 'commander';
import { stageStatus } from './stage-status.ts';
import { formatStatus, type StatusViewLike } from './status-format.ts';
import { ControlClient } from './transport.ts';

/**
 * `bucketlink status [--watch] [--json] [--login-url]`: the status page's
 * view in a terminal, from a running `bucketlink local` (its token is found
 * from --endpoint). `--watch` redraws once a second until Ctrl-C.
 */

const WATCH_MS = 1000;
/** CloudWatch has one-minute points and charges per metric read: a deployed stack is read every 10 s. */
const STAGE_WATCH_MS = 10_000;

interface StatusOptions {
  watch?: boolean;
  json?: boolean;
  loginUrl?: boolean;
  endpoint: string;
  stage?: string;
  region?: string;
}

export function statusCommand(): Command {
  return new Command('status')
    .description('show associations, pending changes, tasks and recent problems (--watch: live)')
    .option('--watch', 'redraw every second until Ctrl-C')
    .option('--json', 'print the status as JSON (with --watch: one line per second)')
    .option('--login-url', 'print a one-time URL that signs a browser in to the status page at /')
    .addOption(
      new Option('--endpoint <url>', 'control endpoint of `bucketlink local`')
        .env('BUCKETLINK_ENDPOINT')
        .default('http://127.0.0.1:4567'),
    )
    .addOption(
      new Option('--stage <name>', 'read the deployed stack’s tables and CloudWatch metrics instead'),
    )
    .addOption(new Option('--region <region>', 'AWS region of the --stage stack (default: the AWS SDK’s)'))
    .action(async (options: StatusOptions) => {
      const client = new ControlClient(options.endpoint);
      if (options.loginUrl) {
        const { loginUrl } = (await client.request('/login-code', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })) as { loginUrl: string };
        process.stdout.write(`${loginUrl}\n`);
        return;
      }
      const read = async (): Promise<StatusViewLike> =>
        options.stage
          ? stageStatus({ stage: options.stage, region: options.region })
          : ((await client.request('/status?detail=full', { method: 'GET' })) as StatusViewLike);
      if (!options.watch) {
        const view = await read();
        process.stdout.write(options.json ? `${JSON.stringify(view, null, 2)}\n` : formatStatus(view));
        return;
      }
      const tty = process.stdout.isTTY && !options.json;
      if (tty) process.stdout.write('\x1b[?25l');
      const restore = () => {
        if (tty) process.stdout.write('\x1b[?25h\n');
        process.exit(0);
      };
      process.once('SIGINT', restore);
      process.once('SIGTERM', restore);
      for (;;) {
        let text: string;
        try {
          const view = await read();
          text = options.json ? `${JSON.stringify(view)}\n` : formatStatus(view);
        } catch (error) {
          text = `bucketlink: ${(error as { code?: string }).code ?? 'Error'}: ${(error as Error).message}\n`;
        }
        // Home and clear-to-end instead of clearing first: the screen never flashes empty.
        process.stdout.write(tty ? `\x1b[H${text.replaceAll('\n', '\x1b[K\n')}\x1b[J` : text);
        await new Promise((resolve) => setTimeout(resolve, options.stage ? STAGE_WATCH_MS : WATCH_MS));
      }
    });
}
