// With CI=true a test that cannot run is a failure, not a skip: setup
// (scripts/setup.sh) installs every tool the tests need, so a missing one
// means setup or the machine is wrong, and a green run must not hide it.
// Locally a test skips with the reason in its name.
import { test } from 'node:test';
import type { TestContext } from 'node:test';

export const IN_CI = process.env.CI === 'true';

function ciMessage(what: string, reason: string): string {
  return `${what} cannot run: ${reason}. With CI=true this fails instead of skipping (scripts/setup.sh installs what the tests need)`;
}

/**
 * The `skip` option for a suite that needs what `reason` says is missing
 * (null: nothing is). In CI the suite is still skipped, and a test that
 * fails with the reason is registered in its place.
 */
export function skipUnlessCI(what: string, reason: string | null | false): string | false {
  if (!reason) return false;
  if (IN_CI) test(`${what}: ${reason} (CI=true: a failure, not a skip)`, () => { throw new Error(ciMessage(what, reason)); });
  return reason;
}

/** Inside a test: skips it with the reason, or fails it in CI. */
export function skipTest(t: TestContext, reason: string): void {
  if (IN_CI) throw new Error(ciMessage(t.name, reason));
  t.skip(reason);
}
