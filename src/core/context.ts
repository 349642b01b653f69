// What the controller's operations share: state, dependencies and paths.
import type { DriverRegistry } from '../drivers/registry.ts';
import type { LinkReaper } from './reaper.ts';
import type { DriverContext } from '../drivers/driver.ts';
import type { NetnsHandle, NetnsProvider } from '../netlink/index.ts';
import type { EventBus } from './events.ts';
import type { ControllerHooks } from './hooks.ts';
import type { IpamManager } from './ipam.ts';
import type { Mutex } from './mutex.ts';
import type { State } from './state.ts';
import type { PortAllocator } from '../firewall/index.ts';
import type { Runtime } from '../runtime/types.ts';
import type { ImageService } from './image-service.ts';

export interface Logger {
  debug(msg: string, extra?: object): void;
  info(msg: string, extra?: object): void;
  warn(msg: string, extra?: object): void;
  error(msg: string, extra?: object): void;
}

export interface Ctx {
  state: State;
  ipam: IpamManager;
  drivers: DriverRegistry;
  hostNs: NetnsHandle;
  /** Makes, opens and removes sandbox namespaces (the kernel's; a fake in unit tests). */
  nsProvider: NetnsProvider;
  driverCtx: DriverContext;
  /** Deletes links drivers are done with, off the request's path. */
  reaper: LinkReaper;
  hooks: Required<ControllerHooks>;
  lock: Mutex;
  log: Logger;
  /** Runtime state (netns files, sandbox run dirs): gone after a reboot. */
  execRoot: string;
  /** Persistent state (store, logs). */
  dataRoot: string;
  /** Host's resolv.conf, copied into sandboxes that get no embedded DNS. */
  hostResolvConf: string;
  /** Opened sandbox namespaces, by sandbox ID. */
  netns: Map<string, NetnsHandle>;
  /** Host ports of published ports (49153-65535 for ephemeral ones). */
  ports: PortAllocator;
  /**
   * The exec root holds namespace files of another instance (or of one whose
   * data root was deleted): the start-up sweep leaves them, and the
   * runtime's containers there, alone.
   */
  keepUnknownNamespaces: boolean;
  /** Runs sandbox processes (runc or crun). */
  runtime: Runtime;
  /** Images for containers' root filesystems; null where there is no image store (unit tests). */
  images: ImageService | null;
  /** Host paths no sandbox may see: data root, exec root, API socket. */
  hiddenPaths: string[];
  /** docker events: what the controller did, for subscribers and `since` replays. */
  events: EventBus;
  /** Attachers waiting for a sandbox's start, by sandbox ID (docker run -it attaches before it starts). */
  attachWaiting: Map<string, number>;
  /** Default route installed per "sandboxId/family" ("gw%dev", '' = none). */
  defaultRoutes: Map<string, string>;
}
