// `cnm doctor`: reports drift between the store, the kernel and the
// firewall; exit status 1 when anything differs.
import { Command } from 'commander';
import type { CliContext } from './context.ts';

export function doctorCommand(ctx: CliContext): Command {
  return new Command('doctor')
    .description('report drift between the store, the kernel and the firewall, and other cnm instances\' state')
    .option('--format <format>', '"json" for the raw report')
    .action(async (o: { format?: string }, cmd: Command) => {
      const r = await ctx.client(cmd).doctor();
      if (o.format === 'json') {
        ctx.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      } else {
        ctx.stdout.write(`kernel:   ${r.Kernel.ok ? 'ok' : 'DRIFT'}\n`);
        for (const p of r.Kernel.problems) ctx.stdout.write(`  - ${p}\n`);
        ctx.stdout.write(`firewall: ${r.Firewall.ok ? 'ok' : 'DRIFT'}\n`);
        for (const [k, v] of Object.entries(r.Firewall)) {
          if (Array.isArray(v) && v.length) ctx.stdout.write(`  - ${k}: ${v.join(', ')}\n`);
        }
        if (r.Foreign) {
          ctx.stdout.write(`foreign:  ${r.Foreign.ok ? 'none' : 'FOUND (another cnm instance\'s state, left untouched)'}\n`);
          for (const p of r.Foreign.problems) ctx.stdout.write(`  - ${p}\n`);
        }
        if (r.Cluster) {
          const c = r.Cluster;
          ctx.stdout.write(`cluster:  ${c.ok ? 'ok' : 'UNREACHABLE'} (store ${c.Store}, this node ${c.Node.slice(0, 12)} VTEP ${c.Vtep})\n`);
          for (const p of c.problems) ctx.stdout.write(`  - ${p}\n`);
          for (const n of c.Nodes) ctx.stdout.write(`  node ${n.ID.slice(0, 12)} VTEP ${n.Vtep} (${n.Hostname})\n`);
        }
      }
      if (!r.Ok) process.exitCode = 1;
    });
}
