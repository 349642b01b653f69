import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunSet } from '../../src/ipam/run-set.ts';
import { rng } from '../helpers/rng.ts';


function checkAgainst(rs: RunSet, model: Set<number>, universe: number): void {
  assert.equal(rs.size, model.size);
  let prevEnd = -2;
  let count = 0;
  for (const [s, e] of rs.runs()) {
    assert.ok(s <= e, 'run is ordered');
    assert.ok(s > prevEnd + 1, 'runs are sorted and maximal (never adjacent)');
    prevEnd = e;
    count += e - s + 1;
  }
  assert.equal(count, model.size);
  for (let x = 0; x < universe; x++) {
    assert.equal(rs.has(x), model.has(x), `has(${x})`);
    let f = x;
    while (model.has(f)) f++;
    assert.equal(rs.nextFree(x), f, `nextFree(${x})`);
    let m = x;
    while (m >= 0 && !model.has(m)) m--;
    assert.equal(rs.lastMemberAtOrBelow(x), m, `lastMemberAtOrBelow(${x})`);
  }
}

test('RunSet agrees with a plain Set over random add/delete (leaf splits included)', () => {
  for (const [seed, universe, ops] of [[1, 64, 3000], [2, 3000, 20000], [3, 40000, 60000]] as const) {
    const r = rng(seed);
    const rs = new RunSet();
    const model = new Set<number>();
    for (let i = 0; i < ops; i++) {
      const x = Math.floor(r() * universe);
      if (r() < 0.6) assert.equal(rs.add(x), !model.has(x) && model.add(x) !== undefined);
      else assert.equal(rs.delete(x), model.delete(x));
    }
    checkAgainst(rs, model, universe);
    if (universe === 40000) assert.ok(rs.runCount > 2048, `several leaves (${rs.runCount} runs)`);
  }
});

test('RunSet: sequential adds stay one run; the top of the uint32 range works', () => {
  const rs = new RunSet();
  for (let x = 1000; x < 101_000; x++) rs.add(x);
  assert.equal(rs.runCount, 1);
  assert.equal(rs.nextFree(1000), 101_000);
  assert.equal(rs.nextFree(999), 999);
  rs.delete(50_000);
  assert.equal(rs.runCount, 2);
  assert.equal(rs.nextFree(1000), 50_000);
  const top = 0xffff_ffff;
  rs.add(top);
  rs.add(top - 1);
  assert.equal(rs.nextFree(top - 1), 2 ** 32, 'nothing free after the last position');
  assert.equal(rs.lastMemberAtOrBelow(top), top);
  assert.ok(rs.delete(top));
  assert.equal(rs.nextFree(top - 1), top);
});
