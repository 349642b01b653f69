// The CNI wire types cnm reads and writes (CNI SPEC.md, spec 1.0/1.1): a
// conflist, one plugin's config, an ADD result, the error object. Kept apart
// from cnm's records; parsed at the edge (conflist.ts, result.ts).

/** One plugin of a conflist: `type` names the executable; the rest is the plugin's. */
export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: { type?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface CniConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConf[];
  [k: string]: unknown;
}

export interface CniInterface { name: string; mac?: string; mtu?: number; sandbox?: string }
export interface CniIp { address: string; gateway?: string; interface?: number }
export interface CniRoute { dst: string; gw?: string }
export interface CniDns { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] }

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: CniDns;
  [k: string]: unknown;
}

/** What a failing plugin prints on stdout (SPEC.md "Error"). */
export interface CniErrorObject { cniVersion?: string; code?: number; msg?: string; details?: string }

/** Runtime values for the capabilities a plugin declares (CONVENTIONS.md). */
export interface CapabilityArgs {
  portMappings?: Array<{ hostPort: number; containerPort: number; protocol: string; hostIP?: string }>;
  ips?: string[];
  mac?: string;
  bandwidth?: { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number };
}

/** One attachment: what every plugin of the chain is told besides its config. */
export interface Attachment {
  containerId: string;
  /** The sandbox's namespace file; empty for a DEL whose namespace is gone. */
  netns: string;
  ifName: string;
  /** CNI_ARGS, `K=V;K2=V2`. */
  args: string;
  capabilityArgs: CapabilityArgs;
}
