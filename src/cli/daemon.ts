// `cnm daemon`: runs the daemon in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { parsePoolFlag } from '../ipam/index.ts';
import { createLogger, parseLevel } from '../daemon/log.ts';
import { DEFAULT_HOST } from '../client/client.ts';
import { parseClusterStore } from '../cluster/config.ts';
import type { ClusterFlags } from '../cluster/config.ts';

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
    .option('--insecure-registry <host[:port]>', 'registry reached over plain HTTP (repeatable; loopback ones always are)', collect, [])
    .option('--cluster-store <etcd://HOST:PORT[,...]>', 'etcd v3 cluster holding overlay networks shared with other cnm hosts')
    .option('--cluster-store-opt <kv.cacertfile=F,kv.certfile=F,kv.keyfile=F>', 'TLS files for the cluster store (repeatable)', collect, [])
    .option('--cluster-advertise <IP|IFACE>', "this host's address on the underlay (the VTEP); an interface means its first IPv4 address")
    .option('--plugin-dir <dir>', 'where legacy network and IPAM plugins are found: <name>.sock, <name>.spec, <name>.json (repeatable; default /run/docker/plugins, /etc/docker/plugins, /usr/lib/docker/plugins)', collect, [])
    .option('--plugin-timeout <seconds>', 'how long one plugin call may take, and how long a plugin that cannot be reached is retried (Docker: 30)', '30')
    .option('--cni-bin-dir <dir>', 'where CNI plugin executables are looked up (repeatable; default /usr/lib/cni)', collect, [])
    .option('--cni-conf-dir <dir>', 'a directory of CNI conflists, each exposed as a network named after it at start')
    .option('--cni-timeout <seconds>', 'how long one CNI plugin call may take before it is killed', '30')
    .option('--clean-orphans', "remove cnm state no record of this daemon names (another instance's, or one whose data root was deleted) instead of refusing to start or leaving it alone")
    .action(async (_opts: unknown, cmd: Command) => {
      // -H may come before `daemon` (global) or after it (like dockerd -H).
      const o = cmd.optsWithGlobals<{ host?: string; dataRoot: string; execRoot: string; defaultAddressPool: string[]; dns: string[]; resolvConf: string; logLevel: string; cleanOrphans?: boolean; runtime: string; insecureRegistry: string[]; pluginDir: string[]; pluginTimeout: string; cniBinDir: string[]; cniConfDir?: string; cniTimeout: string; clusterStore?: string; clusterStoreOpt: string[]; clusterAdvertise?: string }>();
      const host = o.host ?? process.env.CNM_HOST ?? DEFAULT_HOST;
      const log = createLogger(parseLevel(o.logLevel));
      const pluginTimeout = Number(o.pluginTimeout);
      if (!(pluginTimeout > 0)) throw new Error(`invalid --plugin-timeout "${o.pluginTimeout}": expected a number of seconds greater than 0`);
      const cniTimeout = Number(o.cniTimeout);
      if (!(cniTimeout > 0)) throw new Error(`invalid --cni-timeout "${o.cniTimeout}": expected a number of seconds greater than 0`);
      const cni = { binDirs: o.cniBinDir, timeoutMs: cniTimeout * 1000, ...(o.cniConfDir ? { confDir: o.cniConfDir } : {}) };
      const pools = o.defaultAddressPool.length ? o.defaultAddressPool.map((p) => parsePoolFlag(p)) : null;
      const cluster = clusterFlags(o);
      // Loaded here, not at the top: the other commands are API clients and
      // must not load the kernel, firewall and SQLite addons the daemon uses.
      const { startDaemon } = await import('../daemon/daemon.ts');
      const d = await startDaemon({ host, dataRoot: o.dataRoot, execRoot: o.execRoot, pools, dns: o.dns, log, resolvConfPath: o.resolvConf, cleanOrphans: !!o.cleanOrphans, runtime: o.runtime, insecureRegistries: o.insecureRegistry, pluginDirs: o.pluginDir, pluginTimeoutMs: pluginTimeout * 1000, cni, ...(cluster ? { cluster } : {}) });
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

/** The cluster flags, checked together before the daemon starts (dockerd needed both too). */
function clusterFlags(o: { clusterStore?: string; clusterStoreOpt: string[]; clusterAdvertise?: string }): ClusterFlags | null {
  if (!o.clusterStore && !o.clusterAdvertise && !o.clusterStoreOpt.length) return null;
  if (!o.clusterStore) throw new Error('--cluster-advertise and --cluster-store-opt need --cluster-store etcd://HOST:2379');
  if (!o.clusterAdvertise) throw new Error('--cluster-store needs --cluster-advertise IP|IFACE: the address other hosts reach this one at (the VXLAN endpoint)');
  parseClusterStore(o.clusterStore, o.clusterStoreOpt);
  return { store: o.clusterStore, storeOpts: o.clusterStoreOpt, advertise: o.clusterAdvertise };
}

/** `cnm cleanup`: what a stopped daemon leaves behind, in this namespace only. */
export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description("remove what a stopped cnm daemon left in this network namespace: its sandboxes, cnm's nftables tables, the links cnm made (bridges such as cnm0, veths), and the sandbox namespace files in the exec root; a user's links stay (refused while a daemon runs here)")
    .option('--exec-root <dir>', 'the stopped daemon\'s runtime state', '/run/cnm')
    .option('--dry-run', 'only list what would be removed')
    .action(async (o: { execRoot: string; dryRun?: boolean }) => {
      const { cleanup } = await import('../daemon/cleanup.ts');
      const r = await cleanup(o);
      const verb = o.dryRun ? 'would remove' : 'removed';
      const line = (what: string, list: string[]) => process.stdout.write(`${verb} ${what}: ${list.length ? list.join(' ') : '(none)'}\n`);
      line('sandboxes', r.sandboxes.map((id) => id.slice(0, 12)));
      line('nftables tables', r.tables);
      line('links', r.links);
      line('namespace files', r.namespaces);
      for (const e of r.errors) process.stderr.write(`cnm cleanup: ${e}\n`);
      if (r.errors.length) process.exitCode = 1;
    });
}
