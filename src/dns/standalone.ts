// A resolver in a process of its own, driven by JSON lines on stdin: for
// privileged tests and benchmarks, which run it inside a test namespace with
// `nsenter --net=...`. The daemon does not use this file; it embeds the
// resolver (createResolver) in its own process.
//
//   node src/dns/standalone.ts '{"port":53,"resolvConfPath":"/tmp/x","addresses":["10.0.0.1"]}'
// stdin, one JSON object a line, each answered by "ok" or "error <message>":
//   {"op":"add","endpoint":{...DnsEndpoint}}   {"op":"remove","endpointId":"e1"}
//   {"op":"addAddress","ip":"10.0.0.1"}        {"op":"removeAddress","ip":"10.0.0.1"}
//   {"op":"sandboxServers","sandboxId":"s1","servers":["10.9.0.2"]}
//   {"op":"daemonServers","servers":null}      {"op":"stats"} -> {"rss":..., "heapUsed":..., "cpuUs":...}
import { createInterface } from 'node:readline';
import { createResolver } from './resolver.ts';
import type { ResolverOptions } from './resolver.ts';

interface Config extends ResolverOptions { addresses?: string[] }

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const resolver = createResolver(config);
for (const a of config.addresses ?? []) await resolver.server.addAddress(a);

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  if (!line.trim()) return;
  try {
    const cmd = JSON.parse(line) as Record<string, unknown>;
    switch (cmd.op) {
      case 'add': resolver.table.addEndpoint(cmd.endpoint as Parameters<typeof resolver.table.addEndpoint>[0]); break;
      case 'remove': resolver.table.removeEndpoint(String(cmd.endpointId)); break;
      case 'addAddress': await resolver.server.addAddress(String(cmd.ip)); break;
      case 'removeAddress': await resolver.server.removeAddress(String(cmd.ip)); break;
      case 'sandboxServers': resolver.upstreams.setSandboxServers(String(cmd.sandboxId), cmd.servers as string[] | null); break;
      case 'daemonServers': resolver.upstreams.setDaemonServers(cmd.servers as string[] | null); break;
      case 'stats': {
        const m = process.memoryUsage();
        const cpu = process.cpuUsage();
        process.stdout.write(`${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, cpuUs: cpu.user + cpu.system })}\n`);
        return;
      }
      default: throw new Error(`unknown op ${String(cmd.op)}`);
    }
    process.stdout.write('ok\n');
  } catch (e) {
    process.stdout.write(`error ${(e as Error).message.replace(/\n/g, ' ')}\n`);
  }
});
rl.on('close', () => { void resolver.close().then(() => process.exit(0)); });
process.on('SIGTERM', () => { void resolver.close().then(() => process.exit(0)); });
process.stdout.write('ready\n');
