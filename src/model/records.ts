// Domain types of the Container Network Model (camelCase; the wire types in
// src/api/wire.ts are translated at the edge). These are what the store keeps.

export interface SubnetConfig {
  subnet: string;
  ipRange?: string;
  gateway?: string;
  auxAddresses?: Record<string, string>;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  created: string; // RFC3339Nano
  scope: 'local' | 'global' | 'swarm';
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  enableIPv4: boolean;
  enableIPv6: boolean;
  ipamDriver: string;
  ipamOptions: Record<string, string>;
  /** A remote IPAM driver's pool ids and what was requested of it (released at network rm). */
  ipamState?: Record<string, string>;
  /** Effective subnets (auto-chosen ones filled in), v4 first. */
  ipv4?: SubnetConfig & { gateway: string };
  ipv6?: SubnetConfig & { gateway: string };
  /** What the user asked for, shown back in inspect as Docker does. */
  ipamConfigRequested: SubnetConfig[];
  options: Record<string, string>;
  labels: Record<string, string>;
  /** Predefined networks (bridge, host, none) cannot be removed. */
  predefined: boolean;
  /** Driver-private state, e.g. the bridge device name. */
  driverState: Record<string, string>;
}

export interface PortBinding {
  proto: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  hostIp: string; // '' = all
  hostPort: number; // 0 = any free ephemeral port
  /** A host port range (Docker's HostPort "8080-8090"): the first free one. */
  hostPortEnd?: number;
}

/** What a sandbox asked for on one network; kept while the sandbox is stopped. */
export interface AttachmentConfig {
  networkId: string;
  ipv4Address?: string;
  ipv6Address?: string;
  aliases: string[];
  macAddress?: string;
  gwPriority: number;
  driverOpts: Record<string, string>;
}

/**
 * A DHCP lease an endpoint holds (the `dhcp` IPAM driver): kept with the
 * endpoint so a restarted daemon resumes its timers instead of asking again.
 * Times in seconds from obtainedAt (ms since the epoch), as the ACK gave them.
 */
export interface DhcpLeaseRecord {
  address: string;
  prefix: number;
  gateway: string | null;
  dns: string[];
  serverId: string;
  leaseTime: number;
  t1: number;
  t2: number;
  obtainedAt: number;
}

export interface EndpointRecord {
  id: string;
  name: string; // the sandbox name, as Docker shows it
  networkId: string;
  sandboxId: string;
  ifName: string; // inside the sandbox: eth0, eth1, ...
  mac: string;
  ipv4?: string; // address/prefix
  ipv6?: string; // address/prefix
  aliases: string[];
  gwPriority: number;
  created: number; // ordering for default-gateway ties
  /** Published ports, host side allocated, on the sandbox's first endpoint. */
  ports: PortBinding[];
  /** The endpoint's DriverOpts (docker network connect --driver-opt). */
  driverOpts: Record<string, string>;
  /** The driver's own state (the bridge driver: the veth's host end). */
  driverState: Record<string, string>;
  /** From the driver's join: default gateway per family (null: none). */
  gateway: { ipv4: string | null; ipv6: string | null };
  /** From the driver's join: extra routes through this endpoint. */
  routes: { dst: string; gateway?: string }[];
  /** From the driver's join: the embedded DNS serves this endpoint. */
  dns: boolean;
  /**
   * On a global-scope (overlay) network: the host that owns the endpoint
   * (its node id and VTEP) and the sandbox's hostname, so other hosts can
   * reach and name it without knowing its sandbox. Absent on local networks.
   */
  node?: { id: string; vtep: string; sandboxHostname: string };
  /** The DHCP lease behind ipv4, on a network whose IPAM driver is dhcp. */
  dhcpLease?: DhcpLeaseRecord;
  /** From the driver's join: DNS servers that came with its addresses (a CNI result). */
  dnsServers?: string[];
}

export type SandboxState = 'created' | 'running' | 'exited';

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

/** How a sandbox runs: what the OCI runtime is told beyond the command. */
export interface SandboxRunConfig {
  workingDir: string;
  /** As given: user, uid, user:group or uid:gid (resolved at start). */
  user: string;
  /** HostConfig.Binds as given: "SRC:DST[:MODE]", SRC a host path or a volume name. */
  binds: string[];
  /** HostConfig.Mounts as given (camelCase). */
  mountSpecs: MountSpec[];
  /** Config.Volumes as given: paths that get an anonymous volume each, as an image's VOLUME. */
  volumes: string[];
  /** HostConfig.Tmpfs as given: container path -> options ("size=64m"). */
  tmpfs: Record<string, string>;
  /** Every mount above, and the image's volumes, resolved at create (volume names filled in). */
  mounts: MountConfig[];
  memory: number;
  nanoCpus: number;
  pidsLimit: number;
  privileged: boolean;
  /** A minimal init as PID 1 that passes signals on (default on for sandboxes). */
  init: boolean;
  restartPolicy: { name: RestartPolicyName; maximumRetryCount: number };
  /** json-file rotation: bytes per file (0 = unbounded) and files kept. */
  logMaxSize: number;
  logMaxFile: number;
  /** Docker's Config.Tty: the process gets a terminal (one output stream). */
  tty: boolean;
  /** Config.OpenStdin: the monitor holds its stdin for attachers. */
  openStdin: boolean;
  /** Config.StdinOnce: the first attacher's EOF closes that stdin. */
  stdinOnce: boolean;
  /** Config.Attach*: what the creator meant to attach (shown in inspect). */
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  /** HostConfig.ConsoleSize [rows, cols]: the terminal's first size. */
  consoleSize: [number, number];
}

export interface SandboxRecord {
  id: string;
  name: string;
  hostname: string;
  domainname: string;
  cmd: string[];
  env: string[];
  image: string;
  /**
   * Config.Entrypoint and Config.Cmd as merged with the image's (shown by
   * inspect); `cmd` above is what runs, the two joined. Absent on records
   * made before images.
   */
  command?: { entrypoint: string[] | null; cmd: string[] | null };
  /** The ID of the image its root filesystem comes from (sha256:…); absent for host-filesystem sandboxes. */
  imageId?: string;
  labels: Record<string, string>;
  created: string;
  /** 'bridge' | 'host' | 'none' | network name | 'container:<id>' as given. */
  networkMode: string;
  attachments: AttachmentConfig[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: string[];
  ports: PortBinding[];
  publishAll: boolean;
  autoRemove: boolean;
  state: SandboxState;
  pid: number;
  /** /proc/<pid>/stat start time, so a recycled pid is not mistaken for ours. */
  pidStart: string;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  netnsPath: string;
  run: SandboxRunConfig;
  /** The monitor process that supervises the running sandbox. */
  monitorPid: number;
  monitorStart: string;
  restartCount: number;
  /** Stopped by a user (docker stop/kill): restart policies leave it alone. */
  stoppedByUser: boolean;
  /** Frozen by docker pause (the cgroup freezer); meaningful while running only. */
  paused?: boolean;
}

/** A mount as a client asked for it in HostConfig.Mounts (Docker's mount.Mount). */
export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** bind: host path; volume: volume name ('' = a new anonymous one); tmpfs: ''. */
  source: string;
  target: string;
  readOnly: boolean;
  /** bind: BindOptions.Propagation ('' = rprivate). */
  propagation?: string;
  /** volume: VolumeOptions.NoCopy. */
  noCopy?: boolean;
  /** volume: VolumeOptions.Labels and DriverConfig, used when the volume is created here. */
  volumeLabels?: Record<string, string>;
  volumeDriver?: string;
  volumeDriverOpts?: Record<string, string>;
  /** tmpfs: TmpfsOptions.SizeBytes (0 = the kernel's default) and Mode (0 = 1777). */
  sizeBytes?: number;
  mode?: number;
}

/** One mount of a sandbox, resolved: what start mounts and inspect shows. */
export interface MountConfig {
  type: 'bind' | 'volume' | 'tmpfs';
  /** bind: host path; volume: volume name; tmpfs: ''. */
  source: string;
  destination: string;
  readonly: boolean;
  /** bind and volume: the mount's propagation (rprivate unless asked). */
  propagation: string;
  /** The mode string of a Binds entry ('' otherwise), shown as inspect's Mode. */
  mode: string;
  /** volume: leave the image's content at the path out of a new volume. */
  noCopy: boolean;
  /** tmpfs: the kernel's mount options (size=, mode=, ...), merged over Docker's defaults. */
  options: string[];
  /** volume: made for this container (no name given): `rm -v` removes it. */
  anonymous?: boolean;
  /** Where it came from: inspect lists HostConfig.Tmpfs mounts nowhere but HostConfig, as Docker. */
  origin: 'binds' | 'mounts' | 'tmpfs' | 'image';
}

/**
 * A volume of the local driver: <data-root>/volumes/<name>/_data. An
 * anonymous one carries Docker's label com.docker.volume.anonymous.
 */
export interface VolumeRecord {
  name: string;
  driver: 'local';
  /** RFC 3339, seconds (Docker's CreatedAt). */
  created: string;
  mountpoint: string;
  labels: Record<string, string>;
  /** The local driver's options: type, device, o. */
  options: Record<string, string>;
}
