// Network connect and disconnect events follow endpoints through the
// controller's hooks, as the DNS and the firewall do: an endpoint is added
// and removed in several places (connect, start, stop, reconcile), and this
// sees them all. Docker's attributes: the network's name and driver (type)
// and the container (moby daemon/events.go LogNetworkEventWithAttributes).
import type { EventBus } from './events.ts';
import type { ControllerHooks } from './hooks.ts';

export function eventHooks(bus: EventBus): ControllerHooks {
  return {
    endpointAdded(_ep, net, sbx) {
      bus.emit('network', 'connect', net.id, { container: sbx.id, name: net.name, type: net.driver });
    },
    endpointRemoved(_ep, net, sbx) {
      bus.emit('network', 'disconnect', net.id, { container: sbx.id, name: net.name, type: net.driver });
    },
  };
}
