// config.json for a sandbox: confined as Docker confines a container (its
// default capabilities, no_new_privs, a seccomp filter, masked and read-only
// /proc and /sys paths, a /sys of the sandbox's own network namespace). Its
// root is an image's (an overlayfs the daemon mounted, writable) or, without
// an image, the host's directories, read-only, with private /tmp, /run,
// /root and /dev/shm. Pure: the host's root listing is passed in.
import type { OciConfig, OciMount } from './oci-types.ts';
import { sandboxSeccomp } from './seccomp.ts';
import type { Mount, ProcessSpec } from './types.ts';

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability up to Linux 6.x, by bit number (linux/capability.h, CAP_LAST_CAP 40). */
export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Docker's masked and read-only paths (moby oci/defaults.go). */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * Top-level host directories a sandbox does not get: the kernel's and the
 * runtime's own (given fresh instead), and people's homes.
 */
export const HOST_ROOT_SKIPPED = new Set(['proc', 'sys', 'dev', 'run', 'tmp', 'root', 'home', 'boot', 'lost+found', 'mnt', 'media']);

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What "/" of the host holds: directories to bind and symlinks to copy. */
export interface HostRoot {
  dirs: string[];
  links: [name: string, target: string][];
  /** Whether /etc/hostname exists (a read-only /etc cannot grow a mount point). */
  hasEtcHostname: boolean;
  /** The capabilities the daemon itself may grant (its bounding set): --privileged gets these. */
  boundingCaps: string[];
  /**
   * The host has cgroup v2 alone: containers get a cgroup namespace of
   * their own (Docker's default there), so /sys/fs/cgroup is their cgroup.
   */
  cgroupV2?: boolean;
}

/** /proc/self/status CapBnd (hex) -> capability names. */
export function capsFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPS.filter((_c, bit) => (mask >> BigInt(bit)) & 1n);
}

// CFS period Docker uses for --cpus (moby daemon/oci_linux.go).
const CPU_PERIOD_US = 100_000;
const SHM_BYTES = 64 * 1024 * 1024;

function bind(source: string, destination: string, ro: boolean): OciMount {
  return { destination, type: 'bind', source, options: ['rbind', 'rprivate', ...(ro ? ['rro'] : [])] };
}

/** A bind, volume or tmpfs the container asked for; a tmpfs carries its ro in its options. */
function userMount(m: Mount): OciMount {
  if (m.type === 'tmpfs') return { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: m.options };
  return { destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.propagation, ...(m.readonly ? ['rro'] : [])] };
}

/**
 * Parents before children, else stable (moby daemon/volumes.go sortMounts):
 * `-v a:/x/y -v b:/x` must mount /x first, and a volume on /etc must not
 * hide the sandbox's /etc/hosts.
 */
export function byDepth(mounts: OciMount[]): OciMount[] {
  const depth = (m: OciMount): number => m.destination.split('/').filter(Boolean).length;
  return mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map(({ m }) => m);
}

/** Where the init binary appears inside a sandbox (see ProcessSpec.init). */
export const INIT_PATH = '/dev/init';

export function buildOciConfig(spec: ProcessSpec, host: HostRoot, initBinary: string): OciConfig {
  const priv = spec.privileged;
  const image = spec.rootfs !== undefined;
  const caps = priv ? host.boundingCaps : DEFAULT_CAPS;
  const env = [...spec.env];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${spec.hostname}`);
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${SHM_BYTES}`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // Mounted after the network namespace is joined: it shows the sandbox's
    // own interfaces, not the host's.
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', priv ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', priv ? 'rw' : 'ro'] },
    ...(image ? [] : [
      ...host.dirs.map((d) => bind(`/${d}`, `/${d}`, true)),
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] },
      { destination: '/root', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=700'] },
    ]),
    bind(spec.files.hosts, '/etc/hosts', false),
    bind(spec.files.resolvConf, '/etc/resolv.conf', false),
    // A writable image root grows the mount point; the host's read-only /etc cannot.
    ...(image || host.hasEtcHostname ? [bind(spec.files.hostname, '/etc/hostname', false)] : []),
    ...spec.mounts.map(userMount),
    ...(spec.init ? [bind(initBinary, INIT_PATH, true)] : []),
  ];
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (host.cgroupV2 && !priv) namespaces.push({ type: 'cgroup' });
  if (spec.netnsPath) namespaces.push({ type: 'network', path: spec.netnsPath });
  const r = spec.resources;
  return {
    ociVersion: '1.0.2',
    hostname: spec.hostname,
    root: image ? { path: spec.rootfs!, readonly: false } : { path: 'rootfs', readonly: true },
    process: {
      terminal: spec.tty,
      ...(spec.tty && spec.consoleSize[0] > 0 && spec.consoleSize[1] > 0 ? { consoleSize: { height: spec.consoleSize[0], width: spec.consoleSize[1] } } : {}),
      user: { uid: spec.user.uid, gid: spec.user.gid, ...(spec.user.additionalGids.length ? { additionalGids: spec.user.additionalGids } : {}) },
      args: spec.init ? [INIT_PATH, 'init', ...spec.args] : spec.args,
      env,
      cwd: spec.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: !priv,
    },
    mounts: byDepth(mounts),
    linux: {
      namespaces,
      // The daemon's own state is never visible, privileged or not.
      maskedPaths: [...(priv ? [] : MASKED_PATHS), ...spec.hidden],
      readonlyPaths: priv ? [] : READONLY_PATHS,
      cgroupsPath: `/cnm/${spec.id}`,
      resources: {
        devices: priv ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }],
        ...(r.memory > 0 ? { memory: { limit: r.memory } } : {}),
        ...(r.nanoCpus > 0 ? { cpu: { quota: Math.round((r.nanoCpus * CPU_PERIOD_US) / 1e9), period: CPU_PERIOD_US } } : {}),
        ...(r.pidsLimit > 0 ? { pids: { limit: r.pidsLimit } } : {}),
      },
      // As Docker for containers with a network namespace of their own.
      ...(spec.netnsPath ? { sysctl: { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' } } : {}),
      ...(priv ? {} : { seccomp: sandboxSeccomp() }),
    },
  };
}
