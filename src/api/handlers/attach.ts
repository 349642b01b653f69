// POST /containers/{id}/attach (hijacked): a sandbox's output from now on,
// read from its json-file log as the monitor writes it (from the log's end;
// logs=1 replays it first), until the sandbox stops. Sandboxes have no
// terminal, so output is always stdcopy-framed (from API 1.42 on the
// Content-Type says so). They have no stdin either: stdin=1 is refused.
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Controller } from '../../core/controller.ts';
import { CnmError } from '../../model/errors.ts';
import { logPathOf } from '../../core/process-ops.ts';
import { readLogs } from '../../logs/json-file.ts';
import { boolParam } from '../filters.ts';
import type { Route } from '../router.ts';
import { frame, streamContentType } from '../stdcopy.ts';

async function write(socket: Duplex, b: Buffer): Promise<void> {
  if (!socket.write(b)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
}

export function attachRoutes(ctl: Controller): Route[] {
  return [
    {
      method: 'POST', path: '/containers/{id}/attach', handler: (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        if (boolParam(req.query, 'stdin')) {
          throw new CnmError('NOT_IMPLEMENTED', `cnm does not attach stdin: container ${sbx.name} has no open stdin (sandboxes run without one); attach with stdin=0 (docker attach --no-stdin)`);
        }
        const wantOut = boolParam(req.query, 'stdout');
        const wantErr = boolParam(req.query, 'stderr');
        const stream = boolParam(req.query, 'stream');
        const logs = boolParam(req.query, 'logs');
        const id = sbx.id;
        return {
          status: 200,
          hijack: {
            contentType: streamContentType(false, req.version),
            run: (socket, upgraded) => {
              const reading = relay(socket, upgraded);
              ctl.trackReader(id, reading);
              return reading;
            },
          },
        };
        async function relay(socket: Duplex, upgraded: boolean): Promise<void> {
          if (!stream && !logs) return;
          const closed = new AbortController();
          socket.on('close', () => closed.abort());
          if (upgraded) {
            // Nothing is read from the client; its half-close is not the end.
            socket.on('data', () => undefined);
            socket.resume();
          }
          // docker run and docker start -a attach before the start: a
          // stopped container is waited for until it starts, then
          // followed until it stops.
          const startedAt = sbx.startedAt;
    const waitForStart = sbx.state !== 'running';
          const records = readLogs(logPathOf(ctl.ctx, sbx), {
            tail: logs ? 'all' : 0, follow: stream, signal: closed.signal,
            running: () => {
              const cur = ctl.state.sandboxes.get(id);
              return !!cur && (cur.state === 'running' || (waitForStart && cur.startedAt === startedAt));
            },
          });
          for await (const batch of records) {
            const frames = batch.filter((r) => (r.stream === 'stdout' ? wantOut : wantErr))
              .map((r) => frame(r.stream === 'stdout' ? 1 : 2, Buffer.from(r.log)));
            if (frames.length) await write(socket, Buffer.concat(frames));
            if (closed.signal.aborted) return;
          }
        }
      },
    },
  ];
}
