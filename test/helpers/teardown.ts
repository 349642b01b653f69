// Global teardown: removes namespaces left by failed privileged tests.
import { isRoot, removeLeftovers } from './netns.ts';

if (isRoot()) {
  const left = await removeLeftovers();
  if (left.length) console.log(`teardown: removed leftover namespaces ${left.join(' ')}`);
}
