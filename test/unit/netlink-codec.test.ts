// Round trips of the rtnetlink codec: what is encoded decodes to the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { align4, attr, attrStr, attrU16BE, attrU32, attrU8, nest, parseAttrs, str, u16be, u32, u8 } from '../../src/netlink/codec/attributes.ts';
import { decodeError, decodeMessages, encodeMessage } from '../../src/netlink/codec/nlmsghdr.ts';
import { decodeIfInfo, encodeIfInfo, IFINFOMSG_SIZE } from '../../src/netlink/codec/ifinfomsg.ts';
import { decodeIfAddr, encodeIfAddr } from '../../src/netlink/codec/ifaddrmsg.ts';
import { decodeRt, encodeRt } from '../../src/netlink/codec/rtmsg.ts';
import { decodeNd, encodeNd } from '../../src/netlink/codec/ndmsg.ts';
import { decodeLinkInfo, encodeLinkInfo, encodeSlaveInfo } from '../../src/netlink/codec/linkinfo.ts';
import { decodeLink } from '../../src/netlink/codec/link.ts';
import { parseIp } from '../../src/netlink/address.ts';
import * as C from '../../src/netlink/constants.ts';

test('attributes: header, padding and values round-trip', () => {
  const a = attrStr(C.IFLA_IFNAME, 'eth0');
  assert.equal(a.length, align4(4 + 5));
  assert.equal(a.readUInt16LE(0), 9, 'length counts header + payload, not padding');
  const buf = Buffer.concat([a, attrU32(C.IFLA_MTU, 1400), attrU8(C.IFLA_OPERSTATE, 6), attrU16BE(C.IFLA_VXLAN_PORT, 4789)]);
  const m = parseAttrs(buf);
  assert.equal(str(m.get(C.IFLA_IFNAME)), 'eth0');
  assert.equal(u32(m.get(C.IFLA_MTU)), 1400);
  assert.equal(u8(m.get(C.IFLA_OPERSTATE)), 6);
  assert.equal(u16be(m.get(C.IFLA_VXLAN_PORT)), 4789);
  assert.equal(m.get(C.IFLA_VXLAN_PORT)?.[0], 0x12, 'network byte order');
});

test('attributes: nested carries NLA_F_NESTED and parses back', () => {
  const n = nest(C.IFLA_LINKINFO, [attrStr(C.IFLA_INFO_KIND, 'bridge')]);
  assert.equal(n.readUInt16LE(2), C.IFLA_LINKINFO | C.NLA_F_NESTED);
  const outer = parseAttrs(n);
  const inner = parseAttrs(outer.get(C.IFLA_LINKINFO) ?? Buffer.alloc(0));
  assert.equal(str(inner.get(C.IFLA_INFO_KIND)), 'bridge');
});

test('attributes: a truncated attribute stops parsing instead of overrunning', () => {
  const good = attrU32(C.IFLA_MTU, 1500);
  const bad = Buffer.from([0x40, 0x00, 0x03, 0x00, 0x61]); // claims 64 bytes
  const m = parseAttrs(Buffer.concat([good, bad]));
  assert.equal(u32(m.get(C.IFLA_MTU)), 1500);
  assert.equal(m.has(C.IFLA_IFNAME), false);
});

test('nlmsghdr: encode/decode several messages', () => {
  const a = encodeMessage(C.RTM_GETLINK, C.NLM_F_REQUEST | C.NLM_F_DUMP, 7, encodeIfInfo({}));
  const b = encodeMessage(C.RTM_NEWADDR, C.NLM_F_REQUEST | C.NLM_F_ACK, 8, encodeIfAddr({ family: C.AF_INET, prefixLen: 24 }));
  const msgs = decodeMessages(Buffer.concat([a, b]));
  assert.equal(msgs.length, 2);
  assert.deepEqual(msgs.map((m) => [m.type, m.flags, m.seq]), [[C.RTM_GETLINK, C.NLM_F_REQUEST | C.NLM_F_DUMP, 7], [C.RTM_NEWADDR, C.NLM_F_REQUEST | C.NLM_F_ACK, 8]]);
  assert.equal(msgs[0]?.payload.length, IFINFOMSG_SIZE);
});

test('nlmsghdr: an extended-ack error yields errno and the kernel message', () => {
  const body = Buffer.alloc(4 + 16);
  body.writeInt32LE(-17, 0); // -EEXIST
  body.writeUInt32LE(32, 4); // echoed header (capped: header only)
  const payload = Buffer.concat([body, attrStr(C.NLMSGERR_ATTR_MSG, 'File exists')]);
  const [m] = decodeMessages(encodeMessage(C.NLMSG_ERROR, C.NLM_F_CAPPED | C.NLM_F_ACK_TLVS, 1, payload));
  assert.ok(m);
  assert.deepEqual(decodeError(m), { errno: 17, message: 'File exists' });
  const [ack] = decodeMessages(encodeMessage(C.NLMSG_ERROR, 0, 1, Buffer.alloc(20)));
  assert.ok(ack);
  assert.deepEqual(decodeError(ack), { errno: 0 });
});

test('ifinfomsg, ifaddrmsg, rtmsg, ndmsg round-trip', () => {
  const li = decodeIfInfo(encodeIfInfo({ family: 0, type: 1, index: 42, flags: C.IFF_UP, change: 0xffffffff }, [attrStr(C.IFLA_IFNAME, 'x')]));
  assert.deepEqual(li.hdr, { family: 0, type: 1, index: 42, flags: C.IFF_UP, change: 0xffffffff });
  assert.equal(str(li.attrs.get(C.IFLA_IFNAME)), 'x');
  const ad = decodeIfAddr(encodeIfAddr({ family: C.AF_INET6, prefixLen: 64, flags: C.IFA_F_NODAD, scope: 253, index: 3 }));
  assert.deepEqual(ad.hdr, { family: C.AF_INET6, prefixLen: 64, flags: C.IFA_F_NODAD, scope: 253, index: 3 });
  const rt = decodeRt(encodeRt({ family: C.AF_INET, dstLen: 24, table: C.RT_TABLE_MAIN, protocol: C.RTPROT_BOOT, scope: C.RT_SCOPE_LINK, type: C.RTN_UNICAST, flags: C.RTNH_F_ONLINK }));
  assert.deepEqual(rt.hdr, { family: C.AF_INET, dstLen: 24, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 253, type: 1, flags: C.RTNH_F_ONLINK });
  const nd = decodeNd(encodeNd({ family: C.AF_BRIDGE, index: 9, state: C.NUD_PERMANENT, flags: C.NTF_SELF, type: 0 }, [attrU32(C.NDA_VNI, 42)]));
  assert.deepEqual(nd.hdr, { family: C.AF_BRIDGE, index: 9, state: C.NUD_PERMANENT, flags: C.NTF_SELF, type: 0 });
  assert.equal(u32(nd.attrs.get(C.NDA_VNI)), 42);
});

test('linkinfo: veth peer carries its own ifinfomsg and attributes', () => {
  const li = decodeLinkInfo(parseAttrs(encodeLinkInfo({ kind: 'veth', peer: { name: 'eth0', nsFd: 5, mtu: 1400 } })).get(C.IFLA_LINKINFO));
  assert.equal(li.kind, 'veth');
  const peer = li.data?.get(C.VETH_INFO_PEER);
  assert.ok(peer);
  const p = decodeIfInfo(peer);
  assert.equal(str(p.attrs.get(C.IFLA_IFNAME)), 'eth0');
  assert.equal(u32(p.attrs.get(C.IFLA_NET_NS_FD)), 5);
  assert.equal(u32(p.attrs.get(C.IFLA_MTU)), 1400);
});

test('linkinfo: vxlan data (VNI, v4/v6 addresses, port in network order)', () => {
  const local = parseIp('fd00::1') ?? undefined;
  const li = decodeLinkInfo(parseAttrs(encodeLinkInfo({ kind: 'vxlan', vni: 4242, local, port: 4789, learning: false, ttl: 64, link: 3 })).get(C.IFLA_LINKINFO));
  const d = li.data;
  assert.ok(d);
  assert.equal(u32(d.get(C.IFLA_VXLAN_ID)), 4242);
  assert.deepEqual(d.get(C.IFLA_VXLAN_LOCAL6), local?.bytes);
  assert.equal(u16be(d.get(C.IFLA_VXLAN_PORT)), 4789);
  assert.equal(u8(d.get(C.IFLA_VXLAN_LEARNING)), 0);
  assert.equal(u8(d.get(C.IFLA_VXLAN_TTL)), 64);
  assert.equal(u32(d.get(C.IFLA_VXLAN_LINK)), 3);
});

test('decodeLink: a synthetic RTM_NEWLINK becomes a Link', () => {
  const info = encodeLinkInfo({ kind: 'vxlan', vni: 7, group: parseIp('10.0.0.9') ?? undefined, port: 4789, learning: true, ttl: 0 });
  const slave = encodeSlaveInfo('bridge', [attrU8(C.IFLA_BRPORT_MODE, 1), attrU8(C.IFLA_BRPORT_LEARNING, 0)]);
  // Two IFLA_LINKINFO would collide; merge the slave part into the same nest.
  const merged = nest(C.IFLA_LINKINFO, [
    ...[parseAttrs(info).get(C.IFLA_LINKINFO), parseAttrs(slave).get(C.IFLA_LINKINFO)].map((b) => b ?? Buffer.alloc(0)),
  ]);
  const p = encodeIfInfo({ index: 5, flags: C.IFF_UP }, [
    attrStr(C.IFLA_IFNAME, 'vx0'), attrU32(C.IFLA_MTU, 1450), attr(C.IFLA_ADDRESS, Buffer.from('02aabbccddee', 'hex')),
    attrU32(C.IFLA_MASTER, 4), attrU8(C.IFLA_OPERSTATE, 6), merged,
  ]);
  const l = decodeLink(p);
  assert.deepEqual(l, {
    index: 5, name: 'vx0', kind: 'vxlan', mtu: 1450, mac: '02:aa:bb:cc:dd:ee', up: true, master: 4, operState: 'up',
    vxlan: { vni: 7, port: 4789, learning: true, ttl: 0, group: '10.0.0.9' },
    bridgePort: { hairpin: true, learning: false },
  });
});

test('decodeLink: a veth whose peer has the same index in another namespace', () => {
  const p = encodeIfInfo({ index: 2 }, [attrStr(C.IFLA_IFNAME, 'eth0'), attr(C.IFLA_LINK_NETNSID, Buffer.from([0, 0, 0, 0])), encodeLinkInfo({ kind: 'veth', peer: { name: 'x' } })]);
  const l = decodeLink(p);
  assert.equal(l.linkNetnsId, 0);
  assert.equal(l.peerIndex, 2);
});
