// One device's addresses are asked of the kernel by its index: with strict
// dump checking the kernel walks that device only, so a bridge's addresses
// are read at the same cost with 10 or 10,000 veths in the namespace (the
// restart of a daemon with 1000 networks read every address once per network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AF_INET, IFA_LOCAL, RTM_GETADDR, RTM_GETLINK } from '../../src/netlink/constants.ts';
import { attr } from '../../src/netlink/codec/attributes.ts';
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
