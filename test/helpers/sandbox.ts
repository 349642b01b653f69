// Sandboxes for end-to-end tests, made through the API like any client.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ContainerCreateWire, EndpointSettingsWire } from '../../src/api/wire.ts';
import type { DaemonHandle } from './daemon.ts';

const execFileP = promisify(execFile);

export async function runSandbox(d: DaemonHandle, name: string, o: {
  network?: string; networks?: Record<string, EndpointSettingsWire>; cmd?: string[]; extra?: Partial<ContainerCreateWire>;
} = {}): Promise<string> {
  const req: ContainerCreateWire = {
    Cmd: o.cmd ?? ['sleep', 'infinity'],
    HostConfig: { NetworkMode: o.network ?? 'bridge' },
    ...(o.networks ? { NetworkingConfig: { EndpointsConfig: o.networks } } : {}),
    ...o.extra,
  };
  const { Id } = await d.client.containerCreate(name, req);
  await d.client.containerStart(Id);
  return Id;
}

/** Runs a shell command inside a running sandbox's namespaces. */
export async function inSandbox(d: DaemonHandle, name: string, cmd: string): Promise<{ stdout: string; code: number }> {
  const info = await d.client.containerInspect(name);
  try {
    const r = await execFileP('nsenter', ['-t', String(info.State.Pid), '-n', '-u', '-m', '-p', 'sh', '-c', cmd], { timeout: 30_000 });
    return { stdout: r.stdout, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; code?: number };
    return { stdout: err.stdout ?? '', code: typeof err.code === 'number' ? err.code : 1 };
  }
}

export async function canPing(d: DaemonHandle, from: string, ip: string): Promise<boolean> {
  return (await inSandbox(d, from, `ping -c 1 -W 1 ${ip}`)).code === 0;
}

export async function ipOf(d: DaemonHandle, name: string, network: string): Promise<string> {
  const info = await d.client.containerInspect(name);
  const ip = info.NetworkSettings.Networks[network]?.IPAddress;
  if (!ip) throw new Error(`${name} has no address on ${network}`);
  return ip;
}
