// /_ping, /version, /info: what clients ask first.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, hostname, release, totalmem } from 'node:os';
import type { Controller } from '../../core/controller.ts';
import type { Route } from '../router.ts';
import { API_VERSION, MIN_API_VERSION } from '../server.ts';
import type { VersionWire } from '../wire.ts';

export const CNM_VERSION = '0.1.0';

/** MemTotal of /proc/meminfo in bytes, as Docker reports it (os.totalmem() where unreadable). */
export function memTotal(meminfo = '/proc/meminfo'): number {
  try {
    const m = /^MemTotal:\s+(\d+) kB$/m.exec(readFileSync(meminfo, 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux's procfs */ }
  return totalmem();
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** PRETTY_NAME of os-release, Docker's OperatingSystem. */
function osName(): string {
  for (const p of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync(p, 'utf8'));
      if (m?.[1]) return m[1];
    } catch { /* try the next */ }
  }
  return 'Linux';
}

export function systemRoutes(ctl: Controller, info: { name: string; dataRoot: string; id?: string; images?: () => number }): Route[] {
  const ping = () => ({
    status: 200,
    raw: 'OK',
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' },
  });
  const version = (): VersionWire => ({
    Platform: { Name: 'cnm' },
    Components: [{ Name: 'Engine', Version: CNM_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: 'amd64' } }],
    Version: CNM_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: 'cnm',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: process.arch === 'x64' ? 'amd64' : process.arch,
    KernelVersion: release(),
    BuildTime: '',
  });
  return [
    { method: 'GET', path: '/_ping', handler: ping },
    { method: 'HEAD', path: '/_ping', handler: ping },
    { method: 'GET', path: '/version', handler: () => ({ status: 200, json: version() }) },
    {
      method: 'GET', path: '/info', handler: async () => {
        // Legacy plugins found in the plugin directories, by what they implement.
        const plugins = await ctl.ctx.drivers.plugins?.info() ?? { network: [], ipam: [] };
        const sbx = [...ctl.state.sandboxes.values()];
        return {
          status: 200,
          json: {
            ID: info.id ?? info.name,
            Containers: sbx.length,
            ContainersRunning: sbx.filter((s) => s.state === 'running').length,
            ContainersPaused: 0,
            ContainersStopped: sbx.filter((s) => s.state !== 'running').length,
            Images: info.images?.() ?? 0,
            Driver: 'cnm',
            DockerRootDir: info.dataRoot,
            // Docker's Name is the host's name.
            Name: hostname(),
            ServerVersion: CNM_VERSION,
            OperatingSystem: osName(),
            OSType: 'linux',
            Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
            KernelVersion: release(),
            NCPU: availableParallelism(),
            MemTotal: memTotal(),
            SystemTime: new Date().toISOString(),
            LoggingDriver: 'json-file',
            Debug: false,
            NFd: openFds(),
            Plugins: { Network: [...new Set([...ctl.ctx.drivers.names(), ...plugins.network])], IPAM: ['default', ...plugins.ipam], Volume: [], Log: [] },
            Swarm: { LocalNodeState: 'inactive' },
            SecurityOptions: [],
            Warnings: [],
            // cnm's own: what the daemon holds, for `cnm info` and benchmarks.
            CnmStats: {
              Networks: ctl.state.networks.size,
              Endpoints: ctl.state.endpoints.size,
              Memory: process.memoryUsage(),
              // Legacy plugins: calls answered and the time cnm waited for them.
              Plugins: ctl.ctx.drivers.plugins?.stats() ?? {},
            },
          },
        };
      },
    },
  ];
}
