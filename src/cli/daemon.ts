// `cnm daemon`: runs the daemon in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { parsePoolFlag } from '../ipam/index.ts';
import { startDaemon } from '../daemon/daemon.ts';
import { createLogger, parseLevel } from '../daemon/log.ts';
import { DEFAULT_HOST } from '../client/client.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run the cnm daemon')
    .option('-H, --host <socket>', 'API socket to listen on: unix:///path (default: CNM_HOST or unix:///run/cnm.sock)')
    .option('--data-root <dir>', 'persistent state', '/var/lib/cnm')
    .option('--exec-root <dir>', 'runtime state', '/run/cnm')
    .option('--default-address-pool <base=CIDR,size=N>', 'default address pool (repeatable)', collect, [])
    .option('--dns <ip>', 'upstream DNS server for the embedded DNS (repeatable)', collect, [])
    .option('--resolv-conf <path>', "the host's resolv.conf", '/etc/resolv.conf')
    .option('-l, --log-level <level>', 'debug, info, warn or error', 'info')
    .option('--runtime <name|path>', 'OCI runtime for sandboxes: runc or crun (or a path)', 'runc')
    .action(async (_opts: unknown, cmd: Command) => {
      // -H may come before `daemon` (global) or after it (like dockerd -H).
      const o = cmd.optsWithGlobals<{ host?: string; dataRoot: string; execRoot: string; defaultAddressPool: string[]; dns: string[]; resolvConf: string; logLevel: string; runtime: string }>();
      const host = o.host ?? process.env.CNM_HOST ?? DEFAULT_HOST;
      const log = createLogger(parseLevel(o.logLevel));
      const pools = o.defaultAddressPool.length ? o.defaultAddressPool.map((p) => parsePoolFlag(p)) : null;
      const d = await startDaemon({ host, dataRoot: o.dataRoot, execRoot: o.execRoot, pools, dns: o.dns, log, resolvConfPath: o.resolvConf, runtime: o.runtime });
      let closing = false;
      const stop = (sig: string) => {
        if (closing) return;
        closing = true;
        log.info(`${sig}: shutting down`);
        d.close().then(() => process.exit(0), (e: unknown) => {
          log.error(`shutdown: ${(e as Error).message}`);
          process.exit(1);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
