// Assertions shared by the kernel-layer tests.
import assert from 'node:assert/strict';
import { NetlinkError } from '../../src/netlink/index.ts';

/** The promise fails with a NetlinkError of this code whose message names `mentions`. */
export async function rejectsWith(p: Promise<unknown>, code: string, mentions: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof NetlinkError, String(e));
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.includes(mentions), `"${e.message}" should mention ${mentions}`);
    return true;
  });
}
