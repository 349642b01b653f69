// The image commands and `run IMAGE` against a fake Engine API: the
// requests they send (tars streamed as the body, the query docker sends),
// what they print (docker's table, -q, --format, progress lines) and their
// exit statuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeDaemon, runCli } from './cli-harness.ts';
import type { FakeDaemon, Recorded, Reply } from './cli-harness.ts';
import { humanSize, humanSizeWithPrecision } from '../../src/cli/units.ts';
import { progressString } from '../../src/cli/jsonmessage.ts';

const ID_A = `sha256:${'a1'.repeat(32)}`;
const ID_B = `sha256:${'b2'.repeat(32)}`;
const ID_C = `sha256:${'c3'.repeat(32)}`;
const DIGEST = `sha256:${'d4'.repeat(32)}`;
const NOW = Math.floor(Date.now() / 1000);

const IMAGES = [
  { Id: ID_A, ParentId: '', RepoTags: ['busybox:latest', 'busybox:1.36', '127.0.0.1:5000/team/bb:v1'], RepoDigests: [`busybox@${DIGEST}`], Created: NOW - 3 * 3600, Size: 4261550, SharedSize: -1, Labels: {}, Containers: -1 },
  { Id: ID_B, ParentId: '', RepoTags: [], RepoDigests: [], Created: NOW - 2 * 86400 * 7, Size: 999, SharedSize: -1, Labels: null, Containers: -1 },
  { Id: ID_C, ParentId: '', RepoTags: [], RepoDigests: [`alpine@${DIGEST}`], Created: NOW - 120, Size: 7_800_000, SharedSize: -1, Labels: null, Containers: -1 },
];

const lines = (...msgs: object[]): Reply => ({ raw: Buffer.from(msgs.map((m) => `${JSON.stringify(m)}\n`).join('')), contentType: 'application/json' });

const PULL_OK = [
  { status: 'Pulling from library/busybox', id: 'latest' },
  { status: 'Pulling fs layer', progressDetail: {}, id: '9ad63333ebc9' },
  { status: 'Downloading', progressDetail: { current: 1000, total: 2000 }, progress: '[====>  ] 1kB/2kB', id: '9ad63333ebc9' },
  { status: 'Download complete', progressDetail: {}, id: '9ad63333ebc9' },
  { status: 'Pull complete', progressDetail: {}, id: '9ad63333ebc9' },
  { status: `Digest: ${DIGEST}` },
  { status: 'Status: Downloaded newer image for busybox:latest' },
];

/** Whether busybox is "here" for run's create; a pull brings it. */
let haveBusybox = false;

function route(r: Recorded): Reply | undefined {
  const p = r.path;
  if (r.method === 'GET' && p === '/images/json') return { json: IMAGES };
  if (r.method === 'POST' && p === '/images/create' && r.query.get('fromImage')) {
    const from = r.query.get('fromImage');
    if (from === 'docker.io/library/nosuch') return { status: 404, json: { message: 'pull access denied for nosuch, repository does not exist' } };
    if (from === 'docker.io/library/broken') return lines(PULL_OK[0] ?? {}, { errorDetail: { message: 'unexpected EOF' }, error: 'unexpected EOF' });
    if (from === 'docker.io/library/busybox') haveBusybox = true;
    return lines(...PULL_OK);
  }
  if (r.method === 'POST' && p === '/images/create' && r.query.get('fromSrc') === '-') return lines({ status: ID_C });
  if (r.method === 'POST' && p === '/images/load') return lines({ stream: 'Loaded image: busybox:latest\n' });
  if (r.method === 'GET' && p === '/images/get') return { raw: Buffer.from('TAR-BYTES'), contentType: 'application/x-tar' };
  if (r.method === 'POST' && p === '/images/busybox/tag') return { status: 201 };
  if (r.method === 'DELETE' && p === '/images/busybox') return { json: [{ Untagged: 'busybox:latest' }, { Untagged: `busybox@${DIGEST}` }, { Deleted: ID_A }] };
  if (r.method === 'DELETE' && p === '/images/used') return { status: 409, json: { message: 'conflict: unable to remove repository reference "used" (must force) - container abc is using its referenced image a1a1' } };
  if (r.method === 'DELETE' && p.startsWith('/images/')) return { status: 404, json: { message: `No such image: ${p.split('/')[2]}` } };
  if (r.method === 'POST' && p === '/images/prune') return { json: { ImagesDeleted: [{ Untagged: 'old:1' }, { Deleted: ID_B }], SpaceReclaimed: 4261550 } };
  if (r.method === 'GET' && p === '/images/busybox/history') {
    return { json: [{ Id: ID_A, Created: NOW - 60, CreatedBy: '/bin/sh -c #(nop)\tCMD ["sh"] and a long tail that docker cuts at 45', Tags: ['busybox:latest'], Size: 4261550, Comment: '' }, { Id: '<missing>', Created: NOW - 60, CreatedBy: 'ADD file', Tags: null, Size: 0, Comment: 'c' }] };
  }
  if (r.method === 'GET' && p === '/images/busybox/json') return { json: { Id: ID_A, RepoTags: ['busybox:latest'], Os: 'linux' } };
  if (r.method === 'GET' && p.startsWith('/images/')) return { status: 404, json: { message: `No such image: ${p.split('/')[2]}` } };
  if (r.method === 'POST' && p === '/auth') {
    const b = r.body as { username: string; password: string };
    return b.password === 'right' ? { json: { Status: 'Login Succeeded', IdentityToken: '' } } : { status: 401, json: { message: 'login attempt to 127.0.0.1:5000 failed: unauthorized' } };
  }
  if (r.method === 'POST' && p === '/containers/create') {
    const b = r.body as { Image: string };
    if (b.Image === 'busybox' && !haveBusybox) return { status: 404, json: { message: 'No such image: busybox:latest' } };
    if (b.Image === 'nosuch') return { status: 404, json: { message: 'No such image: nosuch:latest' } };
    return { status: 201, json: { Id: 'c-img', Warnings: [] } };
  }
  if (r.method === 'POST' && p === '/containers/c-img/start') return { status: 204 };
  return undefined;
}

let d: FakeDaemon;
let dir: string;
before(async () => {
  d = await fakeDaemon(route);
  dir = mkdtempSync(join(tmpdir(), 'cnmt-cli-img-'));
  process.env.CNM_CONFIG_DIR = join(dir, 'config');
});
after(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
  delete process.env.CNM_CONFIG_DIR;
});

const last = (method: string, path: string): Recorded | undefined => [...d.requests].reverse().find((r) => r.method === method && r.path === path);

test('sizes as go-units prints them', () => {
  assert.equal(humanSizeWithPrecision(4261550, 3), '4.26MB');
  assert.equal(humanSize(4261550), '4.262MB');
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSizeWithPrecision(1_500_000_000, 3), '1.5GB');
  assert.equal(humanSizeWithPrecision(999_700, 3), '1e+03kB');
  assert.equal(progressString({ current: 1_000_000, total: 4_000_000 }, 200), `[============>                                      ]      1MB/4MB`);
  assert.equal(progressString({ current: 1_000_000, total: 4_000_000 }, 80), '     1MB/4MB');
  assert.equal(progressString({}, 200), '');
});

test('images: docker\'s table, a row per repository and tag, <none> for untagged and digest-only images', async () => {
  const r = await runCli(d.socket, ['images']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    'REPOSITORY               TAG       IMAGE ID       CREATED         SIZE',
    'busybox                  latest    a1a1a1a1a1a1   3 hours ago     4.26MB',
    'busybox                  1.36      a1a1a1a1a1a1   3 hours ago     4.26MB',
    '127.0.0.1:5000/team/bb   v1        a1a1a1a1a1a1   3 hours ago     4.26MB',
    '<none>                   <none>    b2b2b2b2b2b2   2 weeks ago     999B',
    'alpine                   <none>    c3c3c3c3c3c3   2 minutes ago   7.8MB',
    '',
  ].join('\n'));
  assert.equal(last('GET', '/images/json')?.query.get('all'), null);
  assert.equal(last('GET', '/images/json')?.query.get('filters'), null);
});

test('images -q, --no-trunc, --digests, --format, -a, filters and the REPOSITORY argument', async () => {
  assert.equal((await runCli(d.socket, ['image', 'ls', '-q'])).stdout, 'a1a1a1a1a1a1\na1a1a1a1a1a1\na1a1a1a1a1a1\nb2b2b2b2b2b2\nc3c3c3c3c3c3\n');
  assert.equal((await runCli(d.socket, ['images', '-q', '--no-trunc'])).stdout.split('\n')[0], ID_A);
  const dg = await runCli(d.socket, ['images', '--digests', '--format', 'table {{.Repository}}:{{.Tag}}']);
  assert.equal(dg.stdout, [
    'REPOSITORY:TAG              DIGEST',
    `busybox:latest              ${DIGEST}`,
    `busybox:1.36                ${DIGEST}`,
    '127.0.0.1:5000/team/bb:v1   <none>',
    '<none>:<none>               <none>',
    `alpine:<none>               ${DIGEST}`,
    '',
  ].join('\n'));
  const tpl = await runCli(d.socket, ['images', '--format', '{{.Repository}} {{.Tag}} {{.Size}} {{.Containers}}']);
  assert.equal(tpl.stdout.split('\n')[0], 'busybox latest 4.26MB N/A');
  const json = await runCli(d.socket, ['images', '--format', 'json']);
  const first = JSON.parse(json.stdout.split('\n')[0] ?? '') as Record<string, string>;
  assert.deepEqual(Object.keys(first), ['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize']);
  assert.equal(first.Repository, 'busybox');
  assert.equal(first.VirtualSize, '4.262MB');
  await runCli(d.socket, ['images', '-a', '-f', 'dangling=false', '--filter', 'label=k=v', 'bus*']);
  const q = last('GET', '/images/json')?.query;
  assert.equal(q?.get('all'), '1');
  assert.deepEqual(JSON.parse(q?.get('filters') ?? ''), { dangling: ['false'], label: ['k=v'], reference: ['bus*'] });
});

test('pull: docker\'s query, "Using default tag", plain progress lines off a terminal, the reference last', async () => {
  const r = await runCli(d.socket, ['pull', 'busybox']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    'Using default tag: latest',
    'latest: Pulling from library/busybox',
    '9ad63333ebc9: Pulling fs layer',
    '9ad63333ebc9: Download complete',
    '9ad63333ebc9: Pull complete',
    `Digest: ${DIGEST}`,
    'Status: Downloaded newer image for busybox:latest',
    'docker.io/library/busybox:latest',
    '',
  ].join('\n'));
  const q = last('POST', '/images/create')?.query;
  assert.equal(q?.get('fromImage'), 'docker.io/library/busybox');
  assert.equal(q?.get('tag'), 'latest');
  assert.equal(last('POST', '/images/create')?.headers?.['x-registry-auth'], undefined);
  await runCli(d.socket, ['pull', '--platform', 'linux/amd64', `127.0.0.1:5000/team/bb@${DIGEST}`]);
  const q2 = last('POST', '/images/create')?.query;
  assert.equal(q2?.get('fromImage'), '127.0.0.1:5000/team/bb');
  assert.equal(q2?.get('tag'), DIGEST);
  assert.equal(q2?.get('platform'), 'linux/amd64');
  assert.equal((await runCli(d.socket, ['pull', '-q', 'busybox:1.36'])).stdout, 'docker.io/library/busybox:1.36\n');
});

test('pull on a terminal: one line per layer, rewritten in place', async () => {
  const r = await runCli(d.socket, ['pull', 'busybox:latest'], { tty: { stdout: true, columns: 80 } });
  const esc = '\x1b';
  assert.equal(r.stdout, [
    'latest: Pulling from library/busybox\n',
    // A new layer line, then each update: up one line, clear, rewrite, down again.
    `\n${esc}[1A${esc}[2K\r9ad63333ebc9: Pulling fs layer \r${esc}[1B`,
    `${esc}[1A${esc}[2K\r9ad63333ebc9: Downloading      1kB/2kB\r${esc}[1B`,
    `${esc}[1A${esc}[2K\r9ad63333ebc9: Download complete \r${esc}[1B`,
    `${esc}[1A${esc}[2K\r9ad63333ebc9: Pull complete \r${esc}[1B`,
    `Digest: ${DIGEST}\n`,
    'Status: Downloaded newer image for busybox:latest\n',
    'docker.io/library/busybox:latest\n',
  ].join(''));
});

test('pull errors: the daemon\'s HTTP error, an in-band error, a bad name; exit 1', async () => {
  const missing = await runCli(d.socket, ['pull', 'nosuch']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Error response from daemon: pull access denied for nosuch/);
  const broken = await runCli(d.socket, ['pull', 'broken:1']);
  assert.equal(broken.code, 1);
  assert.equal(broken.stdout, 'latest: Pulling from library/busybox\n');
  assert.match(broken.stderr, /unexpected EOF\n$/);
  const n = d.requests.length;
  const bad = await runCli(d.socket, ['pull', 'Upper/Case']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid reference format/);
  assert.equal(d.requests.length, n);
});

test('load: the tar streams from -i FILE or stdin; a terminal stdin is refused with docker\'s text', async () => {
  const tar = join(dir, 'in.tar');
  const bytes = Buffer.alloc(300_000, 7);
  writeFileSync(tar, bytes);
  const r = await runCli(d.socket, ['load', '-i', tar]);
  assert.deepEqual(r, { code: 0, stdout: 'Loaded image: busybox:latest\n', stderr: '' });
  const req = last('POST', '/images/load');
  assert.ok(req?.raw?.equals(bytes));
  assert.equal(req?.headers?.['transfer-encoding'], 'chunked');
  assert.equal(req?.headers?.['content-type'], 'application/x-tar');
  // The tar goes once the daemon asks for it: a refusal on the query comes first.
  assert.equal(req?.headers?.expect, '100-continue');
  // Off a terminal docker asks for the quiet form.
  assert.equal(req?.query.get('quiet'), '1');
  await runCli(d.socket, ['load'], { stdin: 'FROM-STDIN' });
  assert.equal(last('POST', '/images/load')?.raw?.toString(), 'FROM-STDIN');
  const n = d.requests.length;
  const tty = await runCli(d.socket, ['load'], { tty: { stdin: true } });
  assert.equal(tty.code, 1);
  assert.match(tty.stderr, /requested load from stdin, but stdin is empty/);
  const nofile = await runCli(d.socket, ['load', '-i', join(dir, 'absent.tar')]);
  assert.equal(nofile.code, 1);
  assert.match(nofile.stderr, /ENOENT/);
  assert.equal(d.requests.length, n);
});

test('save: names in the query, the tar to stdout or -o FILE; a terminal stdout is refused', async () => {
  const r = await runCli(d.socket, ['save', 'busybox', 'alpine:3']);
  assert.deepEqual(r, { code: 0, stdout: 'TAR-BYTES', stderr: '' });
  assert.deepEqual(last('GET', '/images/get')?.query.getAll('names'), ['busybox', 'alpine:3']);
  const out = join(dir, 'out.tar');
  assert.equal((await runCli(d.socket, ['image', 'save', '-o', out, 'busybox'])).code, 0);
  assert.equal(readFileSync(out, 'utf8'), 'TAR-BYTES');
  const n = d.requests.length;
  const tty = await runCli(d.socket, ['save', 'busybox'], { tty: { stdout: true } });
  assert.equal(tty.code, 1);
  assert.match(tty.stderr, /cowardly refusing to save to a terminal\. Use the -o flag or redirect/);
  assert.equal(d.requests.length, n);
});

test('import: -c repeated, -m, the repository; the file is the body; the new ID printed', async () => {
  const tar = join(dir, 'rootfs.tar');
  writeFileSync(tar, 'ROOTFS');
  const r = await runCli(d.socket, ['import', '-c', 'CMD ["sh"]', '--change', 'ENV A=1', '-m', 'hello', tar, 'mine:1']);
  assert.deepEqual(r, { code: 0, stdout: `${ID_C}\n`, stderr: '' });
  const req = last('POST', '/images/create');
  assert.equal(req?.query.get('fromSrc'), '-');
  assert.equal(req?.query.get('repo'), 'mine:1');
  assert.equal(req?.query.get('message'), 'hello');
  assert.deepEqual(req?.query.getAll('changes'), ['CMD ["sh"]', 'ENV A=1']);
  assert.equal(req?.raw?.toString(), 'ROOTFS');
  await runCli(d.socket, ['image', 'import', '-'], { stdin: 'PIPED' });
  assert.equal(last('POST', '/images/create')?.raw?.toString(), 'PIPED');
  assert.equal(last('POST', '/images/create')?.query.get('repo'), null);
});

test('tag: the normalised repository and tag docker sends; a digest target is refused', async () => {
  assert.deepEqual(await runCli(d.socket, ['tag', 'busybox', 'me/bb']), { code: 0, stdout: '', stderr: '' });
  let q = last('POST', '/images/busybox/tag')?.query;
  assert.equal(q?.get('repo'), 'docker.io/me/bb');
  assert.equal(q?.get('tag'), 'latest');
  await runCli(d.socket, ['image', 'tag', 'busybox', 'localhost:5000/x:v2']);
  q = last('POST', '/images/busybox/tag')?.query;
  assert.equal(q?.get('repo'), 'localhost:5000/x');
  assert.equal(q?.get('tag'), 'v2');
  const dg = await runCli(d.socket, ['tag', 'busybox', `bb@${DIGEST}`]);
  assert.equal(dg.code, 1);
  assert.match(dg.stderr, /refusing to create a tag with a digest reference/);
});

test('rmi: Untagged:/Deleted: lines; each failure reported, exit 1; -f and --no-prune sent', async () => {
  const r = await runCli(d.socket, ['rmi', 'busybox', 'ghost', 'used']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `Untagged: busybox:latest\nUntagged: busybox@${DIGEST}\nDeleted: ${ID_A}\n`);
  assert.equal(r.stderr, 'Error response from daemon: No such image: ghost\nError response from daemon: conflict: unable to remove repository reference "used" (must force) - container abc is using its referenced image a1a1\n');
  await runCli(d.socket, ['image', 'rm', '-f', '--no-prune', 'busybox']);
  const q = last('DELETE', '/images/busybox')?.query;
  assert.equal(q?.get('force'), '1');
  assert.equal(q?.get('noprune'), '1');
});

test('image prune: asks first; dangling=true, or false with -a; what went and the space reclaimed', async () => {
  const n = d.requests.length;
  const no = await runCli(d.socket, ['image', 'prune'], { stdin: 'n\n' });
  assert.equal(no.stdout, 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ');
  assert.equal(d.requests.length, n);
  const r = await runCli(d.socket, ['image', 'prune', '-a', '-f', '--filter', 'until=24h']);
  assert.equal(r.stdout, `Deleted Images:\nuntagged: old:1\ndeleted: ${ID_B}\n\nTotal reclaimed space: 4.262MB\n`);
  assert.deepEqual(JSON.parse(last('POST', '/images/prune')?.query.get('filters') ?? ''), { until: ['24h'], dangling: ['false'] });
  await runCli(d.socket, ['image', 'prune', '-f']);
  assert.deepEqual(JSON.parse(last('POST', '/images/prune')?.query.get('filters') ?? ''), { dangling: ['true'] });
});

test('image history, image inspect, and inspect of an image', async () => {
  const h = await runCli(d.socket, ['image', 'history', 'busybox']);
  assert.equal(h.stdout, [
    'IMAGE          CREATED              CREATED BY                                      SIZE      COMMENT',
    'a1a1a1a1a1a1   About a minute ago   /bin/sh -c #(nop) CMD ["sh"] and a long tail…   4.26MB    ',
    '<missing>      About a minute ago   ADD file                                        0B        c',
    '',
  ].join('\n'));
  assert.equal((await runCli(d.socket, ['image', 'history', '-q', '--no-human', '--format', '{{.ID}} {{.Size}}', 'busybox'])).stdout, `a1a1a1a1a1a1 4261550\n<missing> 0\n`);
  assert.equal((await runCli(d.socket, ['image', 'inspect', '-f', '{{.Os}}', 'busybox'])).stdout, 'linux\n');
  // docker inspect: a container first, then an image.
  assert.equal((await runCli(d.socket, ['inspect', '-f', '{{.Id}}', 'busybox'])).stdout, `${ID_A}\n`);
  assert.deepEqual(d.requests.slice(-2).map((x) => x.path), ['/containers/busybox/json', '/images/busybox/json']);
  assert.equal((await runCli(d.socket, ['inspect', '--type', 'image', '-f', '{{.Os}}', 'busybox'])).stdout, 'linux\n');
  assert.equal(d.requests.at(-1)?.path, '/images/busybox/json');
  const miss = await runCli(d.socket, ['image', 'inspect', 'ghost']);
  assert.equal(miss.code, 1);
  assert.equal(miss.stdout, '[]\n');
  assert.match(miss.stderr, /No such image: ghost/);
});

test('login keeps the credentials (mode 0600) and pulls from that registry send them; logout forgets them', async () => {
  const bad = await runCli(d.socket, ['login', '-u', 'me', '-p', 'wrong', '127.0.0.1:5000']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /WARNING! Using --password via the CLI is insecure[\s\S]*Error response from daemon: login attempt to 127\.0\.0\.1:5000 failed/);
  const ok = await runCli(d.socket, ['login', '-u', 'me', '--password-stdin', 'http://127.0.0.1:5000/v2/'], { stdin: 'right\n' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'Login Succeeded\n');
  assert.deepEqual(last('POST', '/auth')?.body, { username: 'me', password: 'right', serveraddress: '127.0.0.1:5000' });
  const file = join(dir, 'config', 'auth.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { auths: { '127.0.0.1:5000': { auth: Buffer.from('me:right').toString('base64') } } });
  await runCli(d.socket, ['pull', '127.0.0.1:5000/team/bb:v1']);
  const header = String(last('POST', '/images/create')?.headers?.['x-registry-auth'] ?? '');
  assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString()), { username: 'me', password: 'right', serveraddress: '127.0.0.1:5000' });
  // Other registries get nothing.
  await runCli(d.socket, ['pull', 'busybox']);
  assert.equal(last('POST', '/images/create')?.headers?.['x-registry-auth'], undefined);
  assert.equal((await runCli(d.socket, ['logout', '127.0.0.1:5000'])).stdout, 'Removing login credentials for 127.0.0.1:5000\n');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { auths: {} });
  const both = await runCli(d.socket, ['login', '-u', 'me', '-p', 'x', '--password-stdin', 'r']);
  assert.match(both.stderr, /--password and --password-stdin are mutually exclusive/);
});

test('run IMAGE: Image, Cmd and Entrypoint sent; no command leaves the image\'s; -- keeps a host command', async () => {
  haveBusybox = true;
  assert.deepEqual(await runCli(d.socket, ['run', '-d', '--entrypoint', '/bin/echo', 'alpine', 'hi', '-n']), { code: 0, stdout: 'c-img\n', stderr: '' });
  let body = last('POST', '/containers/create')?.body as Record<string, unknown>;
  assert.equal(body.Image, 'alpine');
  assert.deepEqual(body.Cmd, ['hi', '-n']);
  assert.deepEqual(body.Entrypoint, ['/bin/echo']);
  await runCli(d.socket, ['run', '-d', '--entrypoint=', 'alpine']);
  body = last('POST', '/containers/create')?.body as Record<string, unknown>;
  assert.equal('Cmd' in body, false);
  assert.deepEqual(body.Entrypoint, ['']);
  await runCli(d.socket, ['run', '-d', '--', 'alpine', 'x']);
  body = last('POST', '/containers/create')?.body as Record<string, unknown>;
  assert.equal(body.Image, '');
  assert.deepEqual(body.Cmd, ['alpine', 'x']);
  // A `--` after the image belongs to the command.
  await runCli(d.socket, ['run', '-d', 'alpine', 'echo', '--', 'y']);
  body = last('POST', '/containers/create')?.body as Record<string, unknown>;
  assert.equal(body.Image, 'alpine');
  assert.deepEqual(body.Cmd, ['echo', '--', 'y']);
  const ep = await runCli(d.socket, ['run', '-d', '--entrypoint', 'x', '--', 'true']);
  assert.equal(ep.code, 125);
});

test('run IMAGE pulls a missing image (progress on stderr) and creates again; --pull never does not', async () => {
  haveBusybox = false;
  const n = d.requests.length;
  const r = await runCli(d.socket, ['run', '-d', 'busybox']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'c-img\n');
  assert.match(r.stderr, /^Unable to find image 'busybox:latest' locally\nlatest: Pulling from library\/busybox\n[\s\S]*Status: Downloaded newer image for busybox:latest\n$/);
  assert.deepEqual(d.requests.slice(n).map((x) => `${x.method} ${x.path}`), ['POST /containers/create', 'POST /images/create', 'POST /containers/create', 'POST /containers/c-img/start']);
  const never = await runCli(d.socket, ['run', '-d', '--pull', 'never', 'nosuch']);
  assert.equal(never.code, 125);
  assert.match(never.stderr, /No such image: nosuch:latest/);
  const missing = await runCli(d.socket, ['run', '-d', 'nosuch']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /Unable to find image 'nosuch:latest' locally\ncnm: Error response from daemon: pull access denied/);
  assert.equal((await runCli(d.socket, ['run', '--pull', 'sometimes', 'x'])).code, 125);
});
