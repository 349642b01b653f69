// The daemon's composition root: store, kernel handle, drivers, observers,
// controller and API server, wired once here.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { RuncRuntime } from '../runtime/runc.ts';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { containerRoutes } from '../api/handlers/containers.ts';
import { networkRoutes } from '../api/handlers/networks.ts';
import { systemRoutes } from '../api/handlers/system.ts';
import { doctorRoutes } from '../api/handlers/doctor.ts';
import { Router } from '../api/router.ts';
import { createApiServer, listenUnix } from '../api/server.ts';
import { socketPathOf } from '../client/client.ts';
import type { Logger } from '../core/context.ts';
import { Controller } from '../core/controller.ts';
import type { ControllerHooks } from '../core/hooks.ts';
import type { PoolFlag } from '../core/ipam.ts';
import { DriverRegistry } from '../drivers/registry.ts';
import { Netns } from '../netlink/index.ts';
import { openStore } from '../store/index.ts';
import { createResolver } from '../dns/index.ts';
import { dnsHooks } from './dns-hooks.ts';
import { firewallHooks } from './firewall-hooks.ts';
import { NftFirewall } from '../firewall/index.ts';
import type { Store } from '../store/index.ts';

export interface DaemonOptions {
  host: string;
  dataRoot: string;
  execRoot: string;
  pools: PoolFlag[] | null;
  dns: string[];
  log: Logger;
  resolvConfPath?: string;
  /** The embedded DNS's port (53). */
  dnsPort?: number;
  /** OCI runtime: a name looked up in PATH (runc, crun) or a path. */
  runtime?: string;
}

/** cnm's monitor (and sandbox init), built from src/native/monitor. */
const MONITOR = fileURLToPath(new URL('../../build/cnm-monitor', import.meta.url));

/** A runtime name found in PATH (and the sbin directories root has). */
function findBinary(name: string): string {
  if (name.includes('/')) {
    if (!existsSync(name)) throw new Error(`OCI runtime "${name}" not found`);
    return name;
  }
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  throw new Error(`OCI runtime "${name}" not found in PATH: install it (apt-get install ${name}) or pass --runtime PATH`);
}

export interface Daemon {
  controller: Controller;
  firewall: NftFirewall;
  server: Server;
  store: Store;
  close(): Promise<void>;
}

/** A stable host id (IPv6 ULA prefixes are derived from it). */
async function hostId(dataRoot: string): Promise<string> {
  const p = join(dataRoot, 'host-id');
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch {
    const id = randomBytes(16).toString('hex');
    await writeFile(p, `${id}\n`);
    return id;
  }
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const started = performance.now();
  await mkdir(o.dataRoot, { recursive: true, mode: 0o700 });
  await mkdir(o.execRoot, { recursive: true, mode: 0o700 });
  if (!existsSync(MONITOR)) throw new Error(`${MONITOR} is missing: run npm ci (or npm run build:native) first`);
  const runtime = new RuncRuntime({ binary: findBinary(o.runtime ?? 'runc'), root: join(o.execRoot, 'runtime'), monitor: MONITOR });
  const store = await openStore({ kind: 'sqlite', path: join(o.dataRoot, 'cnm.db') });
  const hostNs = await Netns.open('/proc/self/ns/net');
  const drivers = new DriverRegistry();
  const dns = createResolver({ resolvConfPath: o.resolvConfPath ?? '/etc/resolv.conf', ...(o.dnsPort ? { port: o.dnsPort } : {}) });
  if (o.dns.length) dns.upstreams.setDaemonServers(o.dns);
  const firewall = new NftFirewall({
    nsPath: `/proc/${process.pid}/ns/net`,
    onRepair: (i) => o.log.warn('firewall: rules were changed behind cnm\'s back; restored', { reason: i.reason ?? '', error: i.error ? String(i.error) : '' }),
  });
  const fwHooks = firewallHooks(firewall, o.log);
  const hooks: ControllerHooks[] = [fwHooks, dnsHooks(dns, drivers, o.log)];
  const controller = new Controller({
    store,
    hostNs,
    drivers,
    execRoot: o.execRoot,
    dataRoot: o.dataRoot,
    pools: o.pools,
    hooks,
    log: o.log,
    hostId: await hostId(o.dataRoot),
    runtime,
    hiddenPaths: [socketPathOf(o.host)],
    ...(o.resolvConfPath ? { resolvConfPath: o.resolvConfPath } : {}),
  });
  await controller.init();
  await fwHooks.start();
  const router = new Router()
    .add(systemRoutes(controller, { name: 'cnm', dataRoot: o.dataRoot }))
    .add(networkRoutes(controller))
    .add(containerRoutes(controller))
    .add(doctorRoutes(controller, firewall));
  const server = createApiServer(router, o.log);
  await listenUnix(server, socketPathOf(o.host));
  o.log.info('daemon ready', {
    host: o.host,
    networks: controller.state.networks.size,
    endpoints: controller.state.endpoints.size,
    startup_ms: Math.round(performance.now() - started),
  });
  return {
    controller,
    firewall,
    server,
    store,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await controller.close();
      await firewall.close();
      await dns.close();
      hostNs.close();
      await store.close();
    },
  };
}
