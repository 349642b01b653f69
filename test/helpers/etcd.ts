// A real etcd 3.4 (Debian's /usr/bin/etcd) for tests: data in a temp dir,
// listening only on the address given, inside a test namespace (or in the
// namespace of the calling process when it already runs inside one). Killed
// by its PID; its data dir removed.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestNetns } from './netns.ts';

export const ETCD = '/usr/bin/etcd';

export interface EtcdMember {
  name: string;
  ip: string;
  clientPort?: number;
  peerPort?: number;
  ns?: TestNetns;
}

export interface EtcdHandle {
  name: string;
  url: string;
  pid: number;
  dataDir: string;
  proc: ChildProcess;
  /** stderr so far (etcd logs there), for failure messages */
  log: () => string;
  /** SIGKILL by PID and wait for the exit; keeps the data dir (a restart reuses it) */
  kill: () => Promise<void>;
  /** kill and remove the data dir */
  stop: () => Promise<void>;
}

function url(ip: string, port: number, scheme = 'http'): string { return `${scheme}://${ip}:${port}`; }

/**
 * Starts one member. `cluster` lists every member of the initial cluster
 * (default: just this one). `dataDir` reuses a previous member's data (a
 * restart). Resolves once the client port answers /health.
 */
export interface EtcdTlsFiles { ca: string; cert: string; key: string }

export async function startEtcd(m: EtcdMember, opts: { cluster?: EtcdMember[]; dataDir?: string; token?: string; waitHealthy?: boolean; tls?: EtcdTlsFiles } = {}): Promise<EtcdHandle> {
  const clientPort = m.clientPort ?? 2379;
  const scheme = opts.tls ? 'https' : 'http';
  const peerPort = m.peerPort ?? 2380;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'cnmt-etcd-'));
  const cluster = (opts.cluster ?? [m]).map((c) => `${c.name}=${url(c.ip, c.peerPort ?? 2380)}`).join(',');
  const args = [
    '--name', m.name, '--data-dir', dataDir,
    '--listen-client-urls', url(m.ip, clientPort, scheme), '--advertise-client-urls', url(m.ip, clientPort, scheme),
    // Clients must show a certificate signed by the CA (kv.certfile/kv.keyfile).
    ...(opts.tls ? ['--cert-file', opts.tls.cert, '--key-file', opts.tls.key, '--trusted-ca-file', opts.tls.ca, '--client-cert-auth'] : []),
    '--listen-peer-urls', url(m.ip, peerPort), '--initial-advertise-peer-urls', url(m.ip, peerPort),
    '--initial-cluster', cluster, '--initial-cluster-token', opts.token ?? 'cnmt', '--initial-cluster-state', 'new',
    // Short election timing: tests wait for leader changes.
    '--heartbeat-interval', '50', '--election-timeout', '500',
    '--log-level', 'warn', '--logger', 'zap',
  ];
  const proc = m.ns
    ? spawn('nsenter', [`--net=${m.ns.path}`, ETCD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(ETCD, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-20_000); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const pid = proc.pid ?? 0;
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      await exited;
    }
  };
  const h: EtcdHandle = {
    name: m.name, url: url(m.ip, clientPort, scheme), pid, dataDir, proc, log: () => log, kill,
    stop: async () => { await kill(); rmSync(dataDir, { recursive: true, force: true }); },
  };
  if (opts.waitHealthy ?? true) await waitHealthy(h, m.ns, 20, opts.tls);
  return h;
}

/** Polls etcd's /health from inside the member's namespace (or this one). */
export async function waitHealthy(h: EtcdHandle, ns?: TestNetns, seconds = 20, tls?: EtcdTlsFiles): Promise<void> {
  const curlTls = tls ? `--cacert ${tls.ca} --cert ${tls.cert} --key ${tls.key} ` : '';
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (h.proc.exitCode !== null) throw new Error(`etcd ${h.name} exited (${h.proc.exitCode}): ${h.log()}`);
    const ok = ns
      ? (await ns.sh(`curl -sf -m 1 ${curlTls}${h.url}/health`, { allowFail: true })).stdout.includes('"true"')
      : await fetch(`${h.url}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd ${h.name} at ${h.url} not healthy after ${seconds} s: ${h.log()}`);
}
