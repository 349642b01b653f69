// The observers' seam: an add that fails part way leaves no observer holding
// the object, so the caller's undo has nothing to guess.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineHooks } from '../../src/core/hooks.ts';
import type { ControllerHooks } from '../../src/core/hooks.ts';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../../src/model/records.ts';

const ep = { id: 'e1' } as EndpointRecord;
const net = { id: 'n1' } as NetworkRecord;
const sbx = { id: 's1' } as SandboxRecord;

function observer(name: string, log: string[], fail = false): ControllerHooks {
  return {
    networkAdded() { log.push(`${name} +net`); if (fail) throw new Error(`${name} failed`); },
    networkRemoved() { log.push(`${name} -net`); },
    endpointAdded() { log.push(`${name} +ep`); if (fail) throw new Error(`${name} failed`); },
    endpointRemoved() { log.push(`${name} -ep`); if (name === 'fw') throw new Error('unknown endpoint'); },
  };
}

test('a failed endpoint add is removed from the failing observer and every one before it', async () => {
  const log: string[] = [];
  const hooks = combineHooks([observer('fw', log), observer('dns', log, true), observer('later', log)]);
  await assert.rejects(async () => hooks.endpointAdded(ep, net, sbx), /dns failed/);
  assert.deepEqual(log, ['fw +ep', 'dns +ep', 'dns -ep', 'fw -ep'], 'later never saw it; a failing removal does not stop the others');
});

test('a failed network add is removed the same way; a good one touches nothing', async () => {
  const log: string[] = [];
  await assert.rejects(async () => combineHooks([observer('a', log), observer('b', log, true)]).networkAdded(net), /b failed/);
  assert.deepEqual(log, ['a +net', 'b +net', 'b -net', 'a -net']);
  log.length = 0;
  await combineHooks([observer('a', log), observer('b', log)]).endpointAdded(ep, net, sbx);
  assert.deepEqual(log, ['a +ep', 'b +ep']);
});
