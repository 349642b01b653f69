// Dumps name what they want in the request, so that the kernel (strict dump
// checking) walks only that: one device's addresses by its index (a bridge's
// addresses cost the same with 10 or 10,000 veths in the namespace; the
// restart of a daemon with 1000 networks read every address once per
// network), one table's routes (not the local table's two per address).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AF_INET, IFA_LOCAL, RTA_TABLE, RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE } from '../../src/netlink/constants.ts';
import { attr, parseAttrs } from '../../src/netlink/codec/attributes.ts';
import { decodeRt } from '../../src/netlink/codec/rtmsg.ts';
import { routeList } from '../../src/netlink/ops/routes.ts';
import { decodeIfAddr, encodeIfAddr } from '../../src/netlink/codec/ifaddrmsg.ts';
import { encodeIfInfo } from '../../src/netlink/codec/ifinfomsg.ts';
import type { NlMsg } from '../../src/netlink/codec/nlmsghdr.ts';
import type { OpContext } from '../../src/netlink/ops/context.ts';
import { addrList } from '../../src/netlink/ops/addrs.ts';
import type { NlRequest, RtnlSocket } from '../../src/netlink/socket.ts';

const msg = (type: number, payload: Buffer): NlMsg => ({ type, flags: 0, seq: 1, pid: 0, payload });
const v4 = (index: number, ip: number[]): NlMsg => msg(20, encodeIfAddr({ family: AF_INET, prefixLen: 24, index }, [attr(IFA_LOCAL, Buffer.from(ip))]));

function fakeSocket(sent: NlRequest[]): OpContext {
  const sock = {
    where: '/fake',
    run: async (req: NlRequest): Promise<NlMsg[]> => {
      sent.push(req);
      if (req.type === RTM_GETLINK) return [msg(16, encodeIfInfo({ index: 7 }))];
      if (req.type === RTM_GETROUTE) return [];
      // A kernel that ignores the filter answers with every device's.
      return [v4(3, [10, 0, 3, 1]), v4(7, [10, 0, 7, 1])];
    },
  };
  const never = (): never => { throw new Error('no change expected'); };
  return { sock: sock as unknown as RtnlSocket, withNs: never, send: never };
}

test("addrList(dev) dumps with the device's index in the request, and returns only that device's", async () => {
  const sent: NlRequest[] = [];
  const got = await addrList(fakeSocket(sent), 'br7');
  const dump = sent.find((r) => r.type === RTM_GETADDR);
  assert.ok(dump?.dump);
  assert.equal(decodeIfAddr(dump.payload).hdr.index, 7);
  assert.deepEqual(got, [{ dev: 'br7', family: 4, cidr: '10.0.7.1/24' }]);
});

test('addrList() of the whole namespace dumps with no index', async () => {
  const sent: NlRequest[] = [];
  await addrList(fakeSocket(sent));
  assert.equal(decodeIfAddr(sent.find((r) => r.type === RTM_GETADDR)?.payload ?? Buffer.alloc(8)).hdr.index, 0);
});

test('routeList puts the table in the dump request (RTA_TABLE above 255)', async () => {
  const sent: NlRequest[] = [];
  await routeList(fakeSocket(sent), { family: 4, devNames: false });
  await routeList(fakeSocket(sent), { family: 4, devNames: false, table: 300 });
  const dumps = sent.filter((r) => r.type === RTM_GETROUTE);
  assert.equal(decodeRt(dumps[0]?.payload ?? Buffer.alloc(12)).hdr.table, 254);
  assert.equal(parseAttrs((dumps[1]?.payload ?? Buffer.alloc(12)).subarray(12)).get(RTA_TABLE)?.readUInt32LE(0), 300);
});
