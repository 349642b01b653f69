// docker exec: POST /containers/{id}/exec, POST /exec/{id}/start (hijacked),
// GET /exec/{id}/json, POST /exec/{id}/resize. The process runs through the
// sandbox's OCI runtime (`runc exec`), confined as the sandbox is.
import type { Controller } from '../../core/controller.ts';
import { ExecTable } from '../../core/execs.ts';
import type { ExecConfig, ExecInstance } from '../../core/execs.ts';
import { relayExec } from '../exec-stream.ts';
import { dimension } from './attach.ts';
import { consoleSize } from '../run-config.ts';
import type { Route } from '../router.ts';
import { frame, streamContentType } from '../stdcopy.ts';
import { EXEC_CREATE, EXEC_START, parseBody } from '../validate.ts';
import type { ExecCreateWire, ExecInspectWire, ExecStartWire } from '../wire.ts';

export function execConfigFromWire(w: ExecCreateWire): ExecConfig {
  const cmd = w.Cmd === null || w.Cmd === undefined ? [] : typeof w.Cmd === 'string' ? [w.Cmd] : w.Cmd;
  return {
    cmd,
    env: w.Env ?? [],
    workingDir: w.WorkingDir ?? '',
    user: w.User ?? '',
    tty: !!w.Tty,
    attachStdin: !!w.AttachStdin,
    attachStdout: !!w.AttachStdout,
    attachStderr: !!w.AttachStderr,
    privileged: !!w.Privileged,
    detachKeys: w.DetachKeys ?? '',
    consoleSize: consoleSize(w.ConsoleSize),
  };
}

export function execInspect(inst: ExecInstance): ExecInspectWire {
  const c = inst.config;
  return {
    ID: inst.id,
    Running: inst.running,
    ExitCode: inst.exitCode,
    ProcessConfig: { tty: c.tty, entrypoint: c.cmd[0] ?? '', arguments: c.cmd.slice(1), privileged: c.privileged, user: c.user },
    OpenStdin: c.attachStdin,
    OpenStderr: c.attachStderr,
    OpenStdout: c.attachStdout,
    CanRemove: false,
    ContainerID: inst.sandboxId,
    DetachKeys: c.detachKeys,
    Pid: inst.running ? (inst.proc?.pid() ?? 0) : 0,
  };
}

export function execRoutes(ctl: Controller): Route[] {
  const table = new ExecTable(ctl.ctx);
  return [
    {
      method: 'POST', path: '/containers/{id}/exec', handler: (req) => {
        const w = parseBody<ExecCreateWire>(req.body, EXEC_CREATE);
        const inst = table.create(req.params.id ?? '', execConfigFromWire(w));
        return { status: 201, json: { Id: inst.id } };
      },
    },
    {
      method: 'POST', path: '/exec/{id}/start', handler: (req) => {
        const w = parseBody<ExecStartWire>(req.body, EXEC_START, { required: false });
        const inst = table.find(req.params.id ?? '');
        table.checkStartable(inst);
        const c = inst.config;
        if (w.Detach) {
          // Nobody reads a detached exec's output (Docker drops it too); it
          // must not fill the pipe and stall the process.
          const proc = table.start(inst, false);
          proc.output.resume();
          proc.errors?.resume();
          return { status: 200 };
        }
        const size = consoleSize(w.ConsoleSize);
        return {
          status: 200,
          hijack: {
            contentType: streamContentType(c.tty, req.version),
            run: async (socket, upgraded) => {
              let proc;
              try {
                proc = table.start(inst, upgraded);
              } catch (e) {
                // After the upgrade an error is text in the output stream (moby: "%v\r\n").
                const text = Buffer.from(`${(e as Error).message}\r\n`);
                socket.write(c.tty ? text : frame(1, text));
                return;
              }
              if (c.tty && size[0] > 0) proc.resize(size[0], size[1]);
              await relayExec(socket, proc, { tty: c.tty, upgraded, stdin: upgraded && c.attachStdin, stdout: c.attachStdout, stderr: c.attachStderr });
            },
          },
        };
      },
    },
    {
      method: 'GET', path: '/exec/{id}/json', handler: (req) => ({ status: 200, json: execInspect(table.find(req.params.id ?? '')) }),
    },
    {
      method: 'POST', path: '/exec/{id}/resize', handler: (req) => {
        const inst = table.find(req.params.id ?? '');
        const h = dimension(req.query, 'h');
        const w = dimension(req.query, 'w');
        inst.proc?.resize(h, w);
        return { status: 200 };
      },
    },
  ];
}
