// Docker Engine API wire types (PascalCase JSON), as the docker CLI, dockerode
// and docker-py send and expect them. Only these cross the socket; handlers
// turn them into domain types (src/core/model.ts) at the edge.

export interface IpamConfigWire {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface IpamWire {
  Driver: string;
  Options: Record<string, string> | null;
  Config: IpamConfigWire[] | null;
}

export interface NetworkContainerWire {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

export interface NetworkWire {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: IpamWire;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers?: Record<string, NetworkContainerWire>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** global-scope networks: the hosts with members (Docker's overlay inspect) */
  Peers?: Array<{ Name: string; IP: string }>;
}

export interface NetworkCreateWire {
  Name: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  EnableIPv4?: boolean | null;
  EnableIPv6?: boolean | null;
  IPAM?: { Driver?: string; Config?: IpamConfigWire[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface EndpointIpamWire {
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs?: string[] | null;
}

/** EndpointSettings: input on connect/create, output in inspect. */
export interface EndpointSettingsWire {
  IPAMConfig?: EndpointIpamWire | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  GwPriority?: number;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  DNSNames?: string[] | null;
}

export interface ConnectWire {
  Container: string;
  EndpointConfig?: EndpointSettingsWire | null;
}

export interface DisconnectWire {
  Container: string;
  Force?: boolean;
}

export interface PortBindingWire { HostIp?: string; HostPort?: string }

export interface ContainerCreateWire {
  Hostname?: string;
  Domainname?: string;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Image?: string;
  Env?: string[] | null;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  /** Paths that get an anonymous volume each (compose sends its `- /path` volumes here). */
  Volumes?: Record<string, object> | null;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  HostConfig?: {
    ConsoleSize?: number[] | null;
    NetworkMode?: string;
    Binds?: string[] | null;
    Mounts?: MountWire[] | null;
    Tmpfs?: Record<string, string> | null;
    Memory?: number;
    NanoCpus?: number;
    PidsLimit?: number | null;
    Privileged?: boolean;
    Init?: boolean | null;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
    LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
    Dns?: string[] | null;
    DnsSearch?: string[] | null;
    DnsOptions?: string[] | null;
    ExtraHosts?: string[] | null;
    AutoRemove?: boolean;
    PortBindings?: Record<string, PortBindingWire[] | null> | null;
    PublishAllPorts?: boolean;
  } | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettingsWire | null> | null } | null;
}

/** HostConfig.Mounts entry (moby api/types/mount.Mount). */
export interface MountWire {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
    Subpath?: string;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

/** A container's mount as inspect and ps show it (MountPoint). */
export interface MountPointWire {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** A volume (swagger Volume). */
export interface VolumeWire {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Scope: 'local';
  Options: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number };
}

export interface VolumeCreateWire {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface ContainerStateWire {
  Status: 'created' | 'running' | 'paused' | 'exited' | 'removing' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export interface ContainerSummaryWire {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  Labels: Record<string, string>;
  State: string;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, EndpointSettingsWire> };
  Mounts: MountPointWire[];
}

export interface ContainerInspectWire {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerStateWire;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  Config: {
    Hostname: string;
    Domainname: string;
    User: string;
    WorkingDir: string;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    Image: string;
    Env: string[];
    Labels: Record<string, string>;
    ExposedPorts?: Record<string, object>;
    Volumes: Record<string, object> | null;
    AttachStdin: boolean;
    AttachStdout: boolean;
    AttachStderr: boolean;
    Tty: boolean;
    OpenStdin: boolean;
    StdinOnce: boolean;
  };
  HostConfig: {
    NetworkMode: string;
    Dns: string[];
    DnsSearch: string[];
    DnsOptions: string[];
    ExtraHosts: string[];
    AutoRemove: boolean;
    PortBindings: Record<string, PortBindingWire[]>;
    PublishAllPorts: boolean;
    ConsoleSize: [number, number];
    Binds: string[] | null;
    Mounts?: MountWire[];
    Tmpfs?: Record<string, string>;
    Memory: number;
    NanoCpus: number;
    PidsLimit: number | null;
    Privileged: boolean;
    Init: boolean;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    LogConfig: { Type: string; Config: Record<string, string> };
    Runtime: string;
  };
  NetworkSettings: {
    Bridge: string;
    SandboxID: string;
    SandboxKey: string;
    HairpinMode: boolean;
    LinkLocalIPv6Address: string;
    LinkLocalIPv6PrefixLen: number;
    Ports: Record<string, PortBindingWire[] | null>;
    Gateway: string;
    IPAddress: string;
    IPPrefixLen: number;
    MacAddress: string;
    GlobalIPv6Address: string;
    GlobalIPv6PrefixLen: number;
    IPv6Gateway: string;
    Networks: Record<string, EndpointSettingsWire>;
  };
  Mounts: MountPointWire[];
}

export interface ErrorWire { message: string }

export interface VersionWire {
  Platform: { Name: string };
  Components: { Name: string; Version: string; Details?: Record<string, string> }[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  BuildTime: string;
}

/** POST /containers/{id}/exec (swagger ExecConfig). */
export interface ExecCreateWire {
  Cmd?: string[] | string | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
  DetachKeys?: string;
  /** [rows, cols] (API >= 1.42). */
  ConsoleSize?: number[] | null;
}

/** POST /exec/{id}/start (swagger ExecStartConfig). */
export interface ExecStartWire { Detach?: boolean; Tty?: boolean; ConsoleSize?: number[] | null }

/** GET /exec/{id}/json (swagger ExecInspectResponse). */
export interface ExecInspectWire {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}
