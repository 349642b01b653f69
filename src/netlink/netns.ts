// A handle on one network namespace: an open fd on its nsfs file (so the
// namespace stays the same one even if the path is remounted) plus a
// NETLINK_ROUTE socket created inside it.
import { close, fstat, open } from 'node:fs';
import { promisify } from 'node:util';
import { NetlinkError, fromNative } from './errors.ts';
import { native } from './native.ts';
import { Rtnl } from './rtnl.ts';
import { RtnlSocket } from './socket.ts';
import { sysctlPath } from './sysctl-key.ts';
import * as v from './validate.ts';
import type { Ctx } from './validate.ts';
import type { NetnsHandle, NetnsProvider } from './handle.ts';

const openP = promisify(open);
const fstatP = promisify(fstat);

function checkPath(ctx: Ctx, path: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0') || path.split('/').includes('..')) {
    v.fail(ctx, 'INVALID_PATH', `namespace path ${JSON.stringify(path)} must be an absolute path`);
  }
}

export class Netns implements NetnsHandle {
  readonly path: string;
  /** "dev:inode" of the namespace: equal ids, same namespace. */
  readonly id: string;
  readonly rtnl: Rtnl;
  #fd: number;
  #users = 0;      // operations using the fd right now
  #closing = false;

  private constructor(path: string, fd: number, id: string, sockFd: number) {
    this.path = path;
    this.#fd = fd;
    this.id = id;
    this.rtnl = new Rtnl(new RtnlSocket(sockFd, path), (fn) => this.use(fn));
  }

  /** Creates a named namespace at `path` (like `ip netns add`, but any path)
   *  with its loopback up, and opens it. */
  static async create(path: string): Promise<Netns> {
    const ctx: Ctx = { op: 'creating', object: `namespace "${path}"` };
    checkPath(ctx, path);
    try {
      await native.netnsCreate(path);
    } catch (e) {
      throw fromNative(e, ctx.op, ctx.object);
    }
    let ns: Netns | undefined;
    try {
      ns = await Netns.open(path);
      // A namespace is born with lo down; nothing local works until it is up.
      await ns.rtnl.linkSet('lo', { up: true });
      return ns;
    } catch (e) {
      ns?.close();
      await native.netnsDelete(path).catch(() => undefined);
      throw e;
    }
  }

  /** Opens an existing namespace: /run/netns/NAME, /proc/PID/ns/net, or
   *  /proc/self/ns/net for the one the daemon runs in. */
  static async open(path: string): Promise<Netns> {
    const ctx: Ctx = { op: 'opening', object: `namespace "${path}"` };
    checkPath(ctx, path);
    let fd: number;
    try {
      fd = await openP(path, 'r');
    } catch (e) {
      throw fromNative(e, ctx.op, ctx.object);
    }
    try {
      const st = await fstatP(fd);
      const sock = await native.openRtnl(fd);
      return new Netns(path, fd, `${st.dev}:${st.ino}`, sock);
    } catch (e) {
      close(fd, () => undefined);
      const err = fromNative(e, ctx.op, ctx.object);
      // setns() says EINVAL when the file is no network namespace.
      if (err.code === 'EINVAL') throw new NetlinkError({ code: 'EINVAL', ...ctx, detail: `${path} is not a network namespace` }, { cause: e });
      throw err;
    }
  }

  /** Removes a namespace made by create (or `ip netns add`): unmounts and
   *  unlinks the path. Sockets still open in it keep it alive until closed. */
  static async remove(path: string): Promise<void> {
    const ctx: Ctx = { op: 'removing', object: `namespace "${path}"` };
    checkPath(ctx, path);
    try {
      await native.netnsDelete(path);
    } catch (e) {
      throw fromNative(e, ctx.op, ctx.object);
    }
  }

  /** The namespace's fd, for kernel calls that take one (IFLA_NET_NS_FD).
   *  Prefer use(): a bare fd may be closed and reused under a running call. */
  get fd(): number {
    if (this.#closing || this.#fd < 0) throw new NetlinkError({ code: 'CLOSED', op: 'using', object: `namespace "${this.path}"`, detail: 'the handle is closed' });
    return this.#fd;
  }

  /** Runs fn with the namespace fd, which close() keeps open until fn
   *  settles: a closed-then-reused fd number must never reach setns(). */
  async use<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    const fd = this.fd;
    this.#users++;
    try {
      return await fn(fd);
    } finally {
      if (--this.#users === 0 && this.#closing) this.#release();
    }
  }

  async sysctlGet(key: string): Promise<string> {
    const ctx: Ctx = { op: 'reading', object: `sysctl ${key} in ${this.path}` };
    const path = sysctlPath(ctx, key);
    try {
      return ((await this.use((fd) => native.sysctl(fd, path))) ?? '').trim();
    } catch (e) {
      throw fromNative(e, ctx.op, ctx.object);
    }
  }

  async sysctlSet(key: string, value: string): Promise<void> {
    const ctx: Ctx = { op: 'setting', object: `sysctl ${key}=${value} in ${this.path}` };
    const path = sysctlPath(ctx, key);
    if (typeof value !== 'string' || value.includes('\n')) v.fail(ctx, 'INVALID_VALUE', `value ${JSON.stringify(value)} must be a one-line string`);
    try {
      await this.use((fd) => native.sysctl(fd, path, value));
    } catch (e) {
      throw fromNative(e, ctx.op, ctx.object);
    }
  }

  /** A UDP or TCP socket bound in this namespace (non-blocking, close-on-exec);
   *  returns its fd. A TCP fd suits `net.Server.listen({ fd })`. `device`:
   *  bound to that interface (SO_BINDTODEVICE); `broadcast`: may send to
   *  broadcast addresses (SO_BROADCAST). */
  async socket(family: 4 | 6, protocol: 'udp' | 'tcp', address: string, port: number, opts: { device?: string; broadcast?: boolean } = {}): Promise<number> {
    const ctx: Ctx = { op: 'binding', object: `${protocol} socket ${address}:${port} in ${this.path}` };
    const ip = v.ip(ctx, address);
    if (ip.family !== family) v.fail(ctx, 'FAMILY_MISMATCH', `address ${address} is not IPv${family}`);
    v.oneOf(ctx, protocol, 'protocol', ['udp', 'tcp']);
    v.int(ctx, port, 'port', 0, 65535);
    try {
      if (opts.device !== undefined) v.ifName(ctx, opts.device);
      return await this.use((fd) => opts.device || opts.broadcast
        ? native.socketIn(fd, family, protocol, address, port, opts.device ?? '', opts.broadcast ? 1 : 0)
        : native.socketIn(fd, family, protocol, address, port));
    } catch (e) {
      throw fromNative(e, ctx.op, ctx.object);
    }
  }

  /** Closes the socket (after queued requests) and the namespace fd (after
   *  the calls using it). New calls are refused with CLOSED. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.rtnl.close();
    if (this.#users === 0) this.#release();
  }

  #release(): void {
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0) close(fd, () => undefined);
  }
}

/** The kernel's namespaces: the controller's default NetnsProvider. */
export const kernelNetns: NetnsProvider = {
  create: (path) => Netns.create(path),
  open: (path) => Netns.open(path),
  remove: (path) => Netns.remove(path),
};
