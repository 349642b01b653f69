// POST /containers/{id}/attach (hijacked) and POST /containers/{id}/resize.
// A sandbox with a terminal or an open stdin (docker run -it / -i) is
// attached through its monitor's attach socket (src/native/monitor/attach.c):
// output as it is written (raw with a terminal, stdcopy frames without) and
// the client's bytes to its stdin. An attach before the start (docker run
// -it attaches, then starts) waits for it and gets the output from the
// start, even of a process that ended at once. A sandbox with neither has
// its output read from the json-file log as the monitor writes it (logs=1
// replays it first).
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Controller } from '../../core/controller.ts';
import { runDirOf } from '../../core/endpoint-ops.ts';
import { CnmError, invalid } from '../../model/errors.ts';
import type { SandboxRecord } from '../../model/records.ts';
import { logPathOf } from '../../core/process-ops.ts';
import { readLogs } from '../../logs/json-file.ts';
import { DetachScanner, parseDetachKeys } from '../detach-keys.ts';
import { boolParam } from '../filters.ts';
import type { Route } from '../router.ts';
import { frame, streamContentType } from '../stdcopy.ts';
import { FrameFilter } from '../frame-filter.ts';

/** Output held for a client that reads slowly before the monitor is made to wait. */
const MAX_BUFFERED = 8 * 1024 * 1024;

async function write(socket: Duplex, b: Buffer): Promise<void> {
  if (!socket.write(b)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
}

interface AttachWants { stdin: boolean; stdout: boolean; stderr: boolean; logs: boolean; stream: boolean; detachKeys: Buffer }

/** The log so far (logs=1), framed as the live stream will be. */
async function replayLog(ctl: Controller, sbx: SandboxRecord, socket: Duplex, w: AttachWants, signal: AbortSignal): Promise<void> {
  const records = readLogs(logPathOf(ctl.ctx, sbx), { tail: 'all', follow: false, signal, running: () => false });
  for await (const batch of records) {
    const parts = batch.filter((r) => (r.stream === 'stdout' ? w.stdout : w.stderr))
      .map((r) => (sbx.run.tty ? Buffer.from(r.log) : frame(r.stream === 'stdout' ? 1 : 2, Buffer.from(r.log))));
    if (parts.length) await write(socket, Buffer.concat(parts));
  }
}

/** Relays between the client and the monitor until the sandbox ends, the client leaves or detaches. */
async function relayMonitor(ctl: Controller, sbx0: SandboxRecord, socket: Duplex, upgraded: boolean, w: AttachWants): Promise<void> {
  const closed = new AbortController();
  socket.on('close', () => closed.abort());
  if (w.logs) await replayLog(ctl, sbx0, socket, w, closed.signal);
  if (!w.stream) return;
  // Before the start: wait for it, then take the output from the start.
  const waited = sbx0.state !== 'running';
  if (waited && !(await ctl.waitRunning(sbx0.id, closed.signal))) return;
  const sbx = ctl.state.sandboxes.get(sbx0.id);
  if (!sbx || sbx.state !== 'running') return;
  const tty = sbx.run.tty;
  const stdin = w.stdin && upgraded;
  let conn: Duplex;
  try {
    conn = await ctl.ctx.runtime.attach(runDirOf(ctl.ctx, sbx), sbx.monitorPid, { stdin, replay: waited });
  } catch {
    // The monitor is gone: the sandbox ended before we got there.
    return;
  }
  const filter = tty ? null : new FrameFilter(w.stdout, w.stderr);
  const ended = new Promise<void>((resolve) => {
    conn.on('close', resolve);
    socket.on('close', resolve);
  });
  conn.on('error', () => undefined);
  // A slow client is buffered for here up to a bound, then the monitor waits
  // (and the container with it); the monitor drops a connection stuck 5 s.
  conn.on('data', (d: Buffer) => {
    const out = filter ? filter.push(d) : (w.stdout || w.stderr ? d : null);
    if (out?.length) socket.write(out);
    if (socket.writableLength > MAX_BUFFERED && !conn.isPaused()) {
      conn.pause();
      socket.once('drain', () => conn.resume());
    }
  });
  const finish = (): void => { conn.destroy(); };
  if (stdin) {
    const scanner = tty ? new DetachScanner(w.detachKeys) : null;
    socket.on('data', (d: Buffer) => {
      if (!scanner) { conn.write(d); return; }
      const r = scanner.push(d);
      if (r.pass.length) conn.write(r.pass);
      // Detached: the attach ends, the container runs on (moby "read escape sequence").
      if (r.detach) finish();
    });
    socket.on('end', () => {
      // With StdinOnce and no terminal the client's EOF closes the
      // container's stdin and the output goes on; otherwise it ends this
      // attach (moby container/stream/attach.go).
      if (!tty && sbx.run.stdinOnce) conn.end();
      else finish();
    });
  } else if (upgraded) {
    socket.on('data', () => undefined);
  }
  socket.resume();
  await ended;
  conn.destroy();
}

/**
 * Output read from the json-file log: sandboxes without a terminal or
 * stdin. docker run and docker start -a attach before the start: a stopped
 * container is waited for until it starts, then followed until it stops.
 */
async function relayFromLog(ctl: Controller, sbx: SandboxRecord, socket: Duplex, upgraded: boolean, w: AttachWants): Promise<void> {
  if (!w.stream && !w.logs) return;
  const closed = new AbortController();
  socket.on('close', () => closed.abort());
  if (upgraded) {
    // Nothing is read from the client; its half-close is not the end.
    socket.on('data', () => undefined);
    socket.resume();
  }
  const id = sbx.id;
  const startedAt = sbx.startedAt;
  const waitForStart = sbx.state !== 'running';
  const records = readLogs(logPathOf(ctl.ctx, sbx), {
    tail: w.logs ? 'all' : 0, follow: w.stream, signal: closed.signal,
    running: () => {
      const cur = ctl.state.sandboxes.get(id);
      return !!cur && (cur.state === 'running' || (waitForStart && cur.startedAt === startedAt));
    },
  });
  for await (const batch of records) {
    const frames = batch.filter((r) => (r.stream === 'stdout' ? w.stdout : w.stderr))
      .map((r) => frame(r.stream === 'stdout' ? 1 : 2, Buffer.from(r.log)));
    if (frames.length) await write(socket, Buffer.concat(frames));
    if (closed.signal.aborted) return;
  }
}

/** ?h=&w= of a resize: whole numbers (moby httputils strconv.Atoi). */
export function dimension(q: URLSearchParams, k: 'h' | 'w'): number {
  const v = q.get(k) ?? '';
  if (!/^\d+$/.test(v)) throw invalid(`invalid resize parameter ${k}=${JSON.stringify(v)}: expected a whole number`);
  return Number(v);
}

export function attachRoutes(ctl: Controller): Route[] {
  return [
    {
      method: 'POST', path: '/containers/{id}/attach', handler: (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        const viaMonitor = sbx.run.tty || sbx.run.openStdin;
        const w: AttachWants = {
          stdin: boolParam(req.query, 'stdin'), stdout: boolParam(req.query, 'stdout'), stderr: boolParam(req.query, 'stderr'),
          logs: boolParam(req.query, 'logs'), stream: boolParam(req.query, 'stream'),
          detachKeys: parseDetachKeys(req.query.get('detachKeys') ?? ''),
        };
        if (w.stdin && !sbx.run.openStdin) {
          throw new CnmError('NOT_IMPLEMENTED', `cnm does not attach stdin: container ${sbx.name} has no open stdin (it was created without OpenStdin, docker run -i); attach with stdin=0 (docker attach --no-stdin)`);
        }
        return {
          status: 200,
          hijack: {
            contentType: streamContentType(sbx.run.tty, req.version),
            run: (socket, upgraded) => {
              const reading = (viaMonitor ? relayMonitor : relayFromLog)(ctl, sbx, socket, upgraded, w);
              // The log stays until this attach has read it, should the container be removed meanwhile (--rm).
              ctl.trackReader(sbx.id, reading);
              return reading;
            },
          },
        };
      },
    },
    {
      method: 'POST', path: '/containers/{id}/resize', handler: async (req) => {
        const sbx = ctl.state.findSandbox(req.params.id ?? '');
        const h = dimension(req.query, 'h');
        const w = dimension(req.query, 'w');
        if (sbx.state !== 'running') throw new CnmError('CONFLICT', `Container ${sbx.id} is not running`);
        // Without a terminal there is nothing to size (Docker answers 200 too).
        if (sbx.run.tty) await ctl.ctx.runtime.resize(runDirOf(ctl.ctx, sbx), sbx.monitorPid, h, w);
        return { status: 200 };
      },
    },
  ];
}
