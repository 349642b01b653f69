// Drivers are chosen by name; a remote plugin can join this table later.
import { notFound } from '../model/errors.ts';
import { bridgeDriver } from './bridge/driver.ts';
import type { NetworkDriver } from './driver.ts';
import { hostDriver } from './host.ts';
import { ipvlanDriver, macvlanDriver } from './lan/driver.ts';
import { nullDriver } from './null.ts';

export class DriverRegistry {
  private readonly drivers = new Map<string, NetworkDriver>();

  constructor(drivers: NetworkDriver[] = [bridgeDriver, hostDriver, nullDriver, macvlanDriver, ipvlanDriver]) {
    for (const d of drivers) this.drivers.set(d.name, d);
  }

  register(d: NetworkDriver): void {
    this.drivers.set(d.name, d);
  }

  get(name: string): NetworkDriver {
    const d = this.drivers.get(name);
    // Docker answers an unknown driver with the plugin lookup's error.
    if (!d) throw notFound(`plugin "${name}" not found`);
    return d;
  }

  names(): string[] {
    return [...this.drivers.keys()];
  }
}
