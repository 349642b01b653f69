// A "LAN" with a DHCP server for the DHCP client's tests: namespace `lan`
// holds bridge br0 (10.77.0.1/24) and Debian's dnsmasq serving leases on it
// (or DhcpLan.on serves an existing switch, e.g. test/helpers/lan.ts's sw0);
// `host` gets `up0`, a veth into that bridge, the parent of the macvlan
// children the tests hand to sandboxes. dnsmasq is started with its own
// lease file, pid file and log, and stopped by its PID.
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestNetns } from './netns.ts';

export const LAN_GATEWAY = '10.77.0.1';
export const LAN_DNS = '10.77.0.53';
// Clear of lan.ts's LAN host (.100).
export const LAN_RANGE = { from: '10.77.0.160', to: '10.77.0.200' };

/** Why dnsmasq tests cannot run here, or null. */
export function dnsmasqSkipReason(): string | null {
  try {
    execFileSync('dnsmasq', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'needs dnsmasq (apt-get install dnsmasq-base)';
  }
}

export interface DnsmasqLease { expiry: number; mac: string; ip: string; clientId: string }

export class DhcpLan {
  readonly lan: TestNetns;
  readonly dir: string;
  readonly bridge: string;
  private readonly ownsNs: boolean;
  private server: ChildProcess | null = null;
  log = '';

  private constructor(lan: TestNetns, bridge: string, ownsNs: boolean) {
    this.lan = lan;
    this.bridge = bridge;
    this.ownsNs = ownsNs;
    this.dir = mkdtempSync(join(tmpdir(), 'cnmt-dhcp-'));
  }

  static async create(): Promise<DhcpLan> {
    const lan = await TestNetns.create('lan');
    await lan.sh(`ip link add br0 type bridge && ip link set br0 up && ip addr add ${LAN_GATEWAY}/24 dev br0`);
    return new DhcpLan(lan, 'br0', true);
  }

  /** dnsmasq on a switch someone else made (its bridge must hold ${LAN_GATEWAY}/24); destroy leaves the namespace. */
  static on(ns: TestNetns, bridge: string): DhcpLan {
    return new DhcpLan(ns, bridge, false);
  }

  /** Plugs `ifName` in `host` into the LAN through a veth (the LAN side is a br0 port). */
  async plug(host: TestNetns, ifName = 'up0'): Promise<void> {
    const peer = `lp${Math.floor(Math.random() * 1e6)}`;
    await this.lan.sh(`ip link add ${peer} type veth peer name ${ifName} netns ${host.name} && ip link set ${peer} master ${this.bridge} up`);
    await host.sh(`ip link set ${ifName} up`);
  }

  /**
   * Starts dnsmasq on br0. `lease`: the range's lease time (dnsmasq's
   * minimum is 2m); `t1`/`t2`: options 58/59 in seconds, to renew sooner
   * than a 2-minute lease allows.
   */
  async start(opts: { lease?: string; t1?: number; t2?: number; dns?: { address: string } } = {}): Promise<void> {
    // `dns`: dnsmasq also answers DNS on the bridge's address (no upstream;
    // `address` is its --address=/DOMAIN/IP), and the leases name it as the DNS server.
    const dnsArgs = opts.dns
      ? ['--port=53', '--no-resolv', '--no-hosts', `--address=/${opts.dns.address}`, `--dhcp-option=option:dns-server,${LAN_GATEWAY}`]
      : ['--port=0', `--dhcp-option=option:dns-server,${LAN_DNS}`];
    const args = [
      '--no-daemon', '--conf-file=/dev/null', ...dnsArgs, `--interface=${this.bridge}`, '--bind-interfaces', '--no-ping',
      '--dhcp-authoritative', `--dhcp-range=${LAN_RANGE.from},${LAN_RANGE.to},255.255.255.0,${opts.lease ?? '2m'}`,
      `--dhcp-leasefile=${this.leaseFile}`, `--pid-file=${join(this.dir, 'pid')}`,
      `--dhcp-option=option:router,${LAN_GATEWAY}`,
      '--log-dhcp', '--log-facility=-',
    ];
    if (opts.t1) args.push(`--dhcp-option=58,${opts.t1}`);
    if (opts.t2) args.push(`--dhcp-option=59,${opts.t2}`);
    const p = this.lan.spawn('dnsmasq', args);
    this.server = p;
    p.stdout?.on('data', (d: Buffer) => { this.log += d.toString(); });
    p.stderr?.on('data', (d: Buffer) => { this.log += d.toString(); });
    // Ready when it logs its DHCP range (or gone when it fails).
    for (let i = 0; i < 100 && !/DHCP, IP range/.test(this.log); i++) {
      if (p.exitCode !== null) throw new Error(`dnsmasq exited: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get leaseFile(): string { return join(this.dir, 'leases'); }

  leases(): DnsmasqLease[] {
    let text = '';
    try { text = readFileSync(this.leaseFile, 'utf8'); } catch { return []; }
    return text.split('\n').filter(Boolean).map((l) => {
      const [expiry, mac, ip, , clientId] = l.split(' ');
      return { expiry: Number(expiry), mac: mac ?? '', ip: ip ?? '', clientId: clientId ?? '' };
    });
  }

  /** Stops dnsmasq by its PID (nsenter execs it, so the child is dnsmasq). */
  async stop(): Promise<void> {
    const p = this.server;
    this.server = null;
    if (!p || p.exitCode !== null || p.pid === undefined) return;
    const gone = new Promise((r) => p.once('exit', r));
    process.kill(p.pid, 'SIGTERM');
    await gone;
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    if (this.ownsNs) await this.lan.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A sandbox namespace with eth0, a macvlan child of `parent` in `host`, up. Returns its MAC. */
export async function macvlanSandbox(host: TestNetns, sbx: TestNetns, parent = 'up0', ifName = 'eth0'): Promise<string> {
  const tmp = `mv${Math.floor(Math.random() * 1e6)}`;
  await host.sh(`ip link add ${tmp} link ${parent} type macvlan mode bridge && ip link set ${tmp} netns ${sbx.name}`);
  await sbx.sh(`ip link set ${tmp} name ${ifName} && ip link set ${ifName} up`);
  // Not /sys: nsenter keeps the caller's sysfs.
  const { stdout } = await sbx.sh(`ip -j link show ${ifName}`);
  return (JSON.parse(stdout) as { address: string }[])[0]!.address;
}
