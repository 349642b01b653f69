// The README's main job: the tutorial of seed 004 replayed against a real
// cnm daemon, in namespaces of its own, on the embedded store. Every command
// is printed with its output. Nothing outside its own namespaces is touched.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** Runs `cnm ARGS` in the walkthrough's host namespace, printing both. */
function cnm(args: string[], expectFail = false): { out: string; code: number } {
  console.log(bold(`$ cnm ${args.join(' ')}`));
  const r = spawnSync('nsenter', [`--net=/run/netns/${NS}`, CNM, ...args], { env: { ...process.env, CNM_HOST: HOST }, encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  if (out.trim()) process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
  const code = r.status ?? 1;
  if (code !== 0 && !expectFail) throw new Error(`cnm ${args.join(' ')} exited ${code}`);
  if (code === 0 && expectFail) throw new Error(`cnm ${args.join(' ')} was expected to fail`);
  return { out, code };
}

let daemon: ChildProcess | null = null;

function cleanup(): void {
  if (daemon && daemon.exitCode === null) {
    spawnSync('nsenter', [`--net=/run/netns/${NS}`, CNM, 'rm', '-f', 'container1', 'container2'], { env: { ...process.env, CNM_HOST: HOST }, stdio: 'ignore' });
    daemon.kill('SIGTERM');
    spawnSync('sleep', ['0.5']);
  }
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  // The daemon's namespace directory is a bind mount of itself (as
  // /run/netns is for `ip netns`), so it is unmounted before removal.
  spawnSync('umount', ['-l', join(DIR, 'run', 'netns')], { stdio: 'ignore' });
  rmSync(DIR, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the walkthrough needs root (it creates network namespaces)');
  say(`a fresh "host" namespace (${NS}) for the daemon, so this machine's own network is untouched`);
  spawnSync('ip', ['netns', 'add', NS], { stdio: 'inherit' });
  spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up'], { stdio: 'inherit' });
  writeFileSync(join(DIR, 'resolv.conf'), 'nameserver 192.0.2.53\n');
  say(`cnm daemon -H ${HOST} --data-root ${DIR}/data --exec-root ${DIR}/run (embedded SQLite store)`);
  daemon = spawn('nsenter', [`--net=/run/netns/${NS}`, CNM, 'daemon', '-H', HOST, '--data-root', join(DIR, 'data'),
    '--exec-root', join(DIR, 'run'), '--resolv-conf', join(DIR, 'resolv.conf'), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 200 && !existsSync(`${DIR}/cnm.sock`); i++) await new Promise((r) => setTimeout(r, 50));

  say('1. create a network');
  cnm(['network', 'create', 'test-network', '-d', 'bridge']);
  cnm(['network', 'ls']);

  say('2. container1 on test-network; container2 without --network (the default bridge)');
  cnm(['run', '-d', '--name', 'container1', '--network', 'test-network', '--', 'sleep', 'infinity']);
  cnm(['run', '-d', '--name', 'container2', '--', 'sleep', 'infinity']);
  cnm(['ps']);

  say('3. in container1: ping container2 — they share no network yet, so the name is unknown');
  cnm(['exec', 'container1', 'busybox', 'ping', '-c', '1', '-W', '1', 'container2'], true);
  const ip2 = cnm(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'container2']).out.trim();
  say(`   and container2's address on the default bridge (${ip2}) is not reachable either`);
  cnm(['exec', 'container1', 'busybox', 'ping', '-c', '1', '-W', '1', ip2], true);

  say('4. join container2 to test-network; now container1 finds it by name and reaches it');
  cnm(['network', 'connect', 'test-network', 'container2']);
  cnm(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{.IPv4Address}} {{end}}', 'test-network']);
  cnm(['exec', 'container1', 'busybox', 'ping', '-c', '1', 'container2']);

  say('5. disconnect container2: the name is gone again; then remove the network');
  cnm(['network', 'disconnect', 'test-network', 'container2']);
  cnm(['exec', 'container1', 'busybox', 'ping', '-c', '1', '-W', '1', 'container2'], true);
  cnm(['rm', '-f', 'container1', 'container2']);
  cnm(['network', 'rm', 'test-network']);
  cnm(['network', 'ls']);
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
