// The parts of the OCI runtime spec's config.json that cnm writes
// (opencontainers/runtime-spec config.md, config-linux.md).

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_MASKED_EQ' | 'SCMP_CMP_NE';
}

export interface OciSeccomp {
  defaultAction: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  architectures: string[];
  syscalls: { names: string[]; action: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_ALLOW'; errnoRet?: number; args?: OciSeccompArg[] }[];
}

export interface OciConfig {
  ociVersion: string;
  hostname: string;
  root: { path: string; readonly: boolean };
  process: {
    terminal: boolean;
    consoleSize?: { height: number; width: number };
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    noNewPrivileges: boolean;
  };
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    cgroupsPath: string;
    resources: {
      devices: { allow: boolean; type?: string; major?: number; minor?: number; access: string }[];
      memory?: { limit: number };
      cpu?: { quota: number; period: number };
      pids?: { limit: number };
    };
    sysctl?: Record<string, string>;
    seccomp?: OciSeccomp;
  };
}
