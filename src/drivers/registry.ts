// Drivers are chosen by name: the built-in ones, then legacy plugins found
// in the daemon's plugin directories (src/drivers/remote).
import { notFound } from '../model/errors.ts';
import { bridgeDriver } from './bridge/driver.ts';
import type { NetworkDriver } from './driver.ts';
import { hostDriver } from './host.ts';
import { ipvlanDriver, macvlanDriver } from './lan/driver.ts';
import { nullDriver } from './null.ts';
import { overlayDriver } from './overlay/driver.ts';
import type { Plugins, RemoteIpam } from './remote/index.ts';

export class DriverRegistry {
  private readonly drivers = new Map<string, NetworkDriver>();
  /** Legacy plugins (remote network and IPAM drivers); null: none looked for. */
  readonly plugins: Plugins | null;

  constructor(drivers: NetworkDriver[] = [bridgeDriver, hostDriver, nullDriver, macvlanDriver, ipvlanDriver, overlayDriver], plugins: Plugins | null = null) {
    for (const d of drivers) this.drivers.set(d.name, d);
    this.plugins = plugins;
  }

  register(d: NetworkDriver): void {
    this.drivers.set(d.name, d);
  }

  get(name: string): NetworkDriver {
    let d = this.drivers.get(name);
    // Not a built-in: a plugin of that name (activated at its first call).
    if (!d) {
      d = this.plugins?.network(name) ?? undefined;
      if (d) this.drivers.set(name, d);
    }
    // Docker answers an unknown driver with the plugin lookup's error.
    if (!d) throw notFound(`plugin "${name}" not found`);
    return d;
  }

  /**
   * The driver of a stored network: a name that is not built in is a plugin
   * even when none answers to it now (it may start after the daemon); its
   * calls fail with Docker's not-found error until it does.
   */
  adopt(name: string): void {
    const d = this.drivers.has(name) ? null : this.plugins?.network(name, true);
    if (d) this.drivers.set(name, d);
  }

  /** A remote IPAM driver by name (`--ipam-driver`), with Docker's error when none has it. */
  ipam(name: string): RemoteIpam {
    const d = this.plugins?.ipam(name);
    if (!d) throw notFound(`plugin "${name}" not found`);
    return d;
  }

  names(): string[] {
    return [...this.drivers.keys()];
  }
}
