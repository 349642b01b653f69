// The README's main job: the tutorial of seed 004 replayed with the real
// docker CLI against a real cnm daemon, in namespaces of its own, on the
// embedded store, with busybox:latest built offline from Debian's
// busybox-static. Every command is printed with its output. Nothing outside
// its own namespaces is touched. The tutorial types into three terminals
// (`docker run -it --rm …`); a script cannot, so it runs the same containers
// with -dit and types its commands through `docker exec`.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CNM = join(ROOT, 'bin', 'cnm');
const NS = `cnm-walk-${randomBytes(3).toString('hex')}`;
const DIR = mkdtempSync('/tmp/cnm-walk-');
const HOST = `unix://${DIR}/cnm.sock`;
const color = process.stdout.isTTY;
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);

function say(text: string): void {
  console.log(`\n${dim(`# ${text}`)}`);
}

const DOCKER_ENV = { ...process.env, DOCKER_HOST: HOST, DOCKER_CONFIG: join(DIR, 'docker-config') };

/**
 * Runs `docker ARGS` against the walkthrough's daemon, printing both. Then
 * yields to the event loop, where a SIGINT or SIGTERM is handled.
 */
async function docker(args: string[], expectFail = false): Promise<{ out: string; code: number }> {
  await new Promise((r) => setImmediate(r));
  console.log(bold(`$ docker ${args.join(' ')}`));
  const r = spawnSync('docker', args, { env: DOCKER_ENV, encoding: 'utf8' });
  if (r.error) throw new Error(`docker: ${r.error.message} (scripts/setup.sh installs Debian's docker.io)`);
  const out = `${r.stdout}${r.stderr}`;
  if (out.trim()) process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
  const code = r.status ?? 1;
  if (code !== 0 && !expectFail) throw new Error(`docker ${args.join(' ')} exited ${code}`);
  if (code === 0 && expectFail) throw new Error(`docker ${args.join(' ')} was expected to fail`);
  await new Promise((r) => setImmediate(r));
  return { out, code };
}

let daemon: ChildProcess | null = null;

/**
 * Read from /proc: cleanup runs synchronously (in a signal handler too), so
 * the child's 'exit' event may never be delivered meanwhile; an exited but
 * unreaped child is a zombie.
 */
function alive(p: ChildProcess): boolean {
  if (p.exitCode !== null || p.signalCode !== null || !p.pid) return false;
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function waitExit(p: ChildProcess, ms: number): void {
  for (let i = 0; i < ms / 50 && alive(p); i++) spawnSync('sleep', ['0.05']);
}

/** Kills every process whose network namespace is one of the files in dir. */
function killInNamespaces(dir: string): void {
  const files = existsSync(dir) ? readdirSync(dir).map((n) => join(dir, n)) : [];
  const inodes = new Set(files.map((f) => { try { return statSync(f).ino; } catch { return -1; } }));
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (inodes.has(statSync(`/proc/${pid}/ns/net`).ino)) process.kill(Number(pid), 'SIGKILL');
    } catch { /* gone, or not ours to read */ }
  }
  for (const f of files) {
    spawnSync('umount', ['-l', f], { stdio: 'ignore' });
    rmSync(f, { force: true });
  }
}

let cleaned = false;

/**
 * Removes everything the walkthrough made, also after Ctrl-C or SIGTERM: the
 * sandboxes (through the daemon, then any process left in their namespaces,
 * e.g. when the daemon is gone), the daemon, its namespace and its files.
 */
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  if (daemon && alive(daemon)) {
    spawnSync('docker', ['rm', '-f', 'container1', 'container2'], { env: DOCKER_ENV, stdio: 'ignore', timeout: 20_000 });
    daemon.kill('SIGTERM');
    waitExit(daemon, 5000);
    if (alive(daemon)) daemon.kill('SIGKILL');
  }
  killInNamespaces(join(DIR, 'run', 'netns'));
  // Processes in the daemon's own namespace (none should be left).
  const pids = spawnSync('ip', ['netns', 'pids', NS], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
  }
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  // The daemon's namespace directory is a bind mount of itself (as
  // /run/netns is for `ip netns`), and containers' roots are overlay mounts
  // (left by a daemon stopped midway): all unmounted before the removal.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${DIR}/`)).sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  rmSync(DIR, { recursive: true, force: true });
}

// Ctrl-C (SIGINT) or a SIGTERM midway must not leave a namespace, mounts and
// sandbox processes behind. The daemon runs in a process group of its own,
// so a Ctrl-C reaches only the walkthrough, which stops it in order.
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(sig, () => {
    console.error(`\nwalkthrough: ${sig}, cleaning up`);
    cleanup();
    process.exit(code);
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the walkthrough needs root (it creates network namespaces)');
  say(`a fresh "host" namespace (${NS}) for the daemon, so this machine's own network is untouched`);
  spawnSync('ip', ['netns', 'add', NS], { stdio: 'inherit' });
  spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up'], { stdio: 'inherit' });
  writeFileSync(join(DIR, 'resolv.conf'), 'nameserver 192.0.2.53\n');
  say(`cnm daemon -H ${HOST} --data-root ${DIR}/data --exec-root ${DIR}/run (embedded SQLite store)`);
  daemon = spawn('nsenter', [`--net=/run/netns/${NS}`, CNM, 'daemon', '-H', HOST, '--data-root', join(DIR, 'data'),
    '--exec-root', join(DIR, 'run'), '--resolv-conf', join(DIR, 'resolv.conf'), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  for (let i = 0; i < 200 && !existsSync(`${DIR}/cnm.sock`); i++) await new Promise((r) => setTimeout(r, 50));

  say('0. busybox:latest, built offline from Debian\'s busybox-static, loaded into cnm');
  const made = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'scripts', 'make-busybox-image.ts'), join(DIR, 'busybox.tar')], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make-busybox-image: ${made.stderr}`);
  await docker(['load', '-i', join(DIR, 'busybox.tar')]);

  say('1. create a network');
  await docker(['network', 'create', 'test-network', '-d', 'bridge']);
  await docker(['network', 'ls']);

  say('2. container1 on test-network; container2 without --network (the default bridge)');
  await docker(['run', '-dit', '--name', 'container1', '--network', 'test-network', 'busybox:latest']);
  await docker(['run', '-dit', '--name', 'container2', 'busybox:latest']);
  await docker(['ps']);

  say('3. at container1\'s prompt: ping container2 — they share no network, so the name is unknown');
  await docker(['exec', 'container1', 'ping', '-c', '1', '-W', '1', 'container2'], true);
  const ip2 = (await docker(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'container2'])).out.trim();
  say(`   and container2's address on the default bridge (${ip2}) is not reachable either`);
  await docker(['exec', 'container1', 'ping', '-c', '1', '-W', '1', ip2], true);

  say('4. connect container2 to test-network; now container1 finds it by name and reaches it');
  await docker(['network', 'connect', 'test-network', 'container2']);
  await docker(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{.IPv4Address}} {{end}}', 'test-network']);
  await docker(['exec', 'container1', 'ping', '-c', '1', 'container2']);

  say('5. disconnect container2: the name is gone again; then remove the containers and the network');
  await docker(['network', 'disconnect', 'test-network', 'container2']);
  await docker(['exec', 'container1', 'ping', '-c', '1', '-W', '1', 'container2'], true);
  await docker(['rm', '-f', 'container1', 'container2']);
  await docker(['network', 'rm', 'test-network']);
  await docker(['network', 'ls']);
  say('done: every step behaved as in the tutorial');
}

try {
  await main();
  cleanup();
} catch (e) {
  console.error(`walkthrough failed: ${(e as Error).message}`);
  cleanup();
  process.exit(1);
}
