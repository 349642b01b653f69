// Docker's progress streams (pull, load, import): newline-delimited JSON
// messages. An error before the first message is sent is an ordinary HTTP
// error with its status; after it, the status line is out already and the
// error goes in-band as {"errorDetail":{"message"},"error"} (M
// api/server/router/image/image_routes.go: `if !output.Flushed()`).
import type { ServerResponse } from 'node:http';
import type { Emit, JsonMessage } from '../core/image-service.ts';
import type { ApiResponse } from './router.ts';

type Outcome = { ok: true } | { ok: false; err: unknown };

/**
 * Runs `run`, answering once it has emitted a message that `flushWhen`
 * accepts (any, by default) or has settled. Messages before that are held,
 * so a failure there is still an HTTP error.
 */
export async function jsonMessages(run: (emit: Emit) => Promise<unknown>, flushWhen: (m: JsonMessage) => boolean = () => true): Promise<ApiResponse> {
  const queue: JsonMessage[] = [];
  let wake: (() => void) | undefined;
  let release: () => void = () => undefined;
  const flushed = new Promise<undefined>((r) => { release = () => r(undefined); });
  const emit: Emit = (m) => {
    queue.push(m);
    if (flushWhen(m)) release();
    wake?.();
  };
  let outcome: Outcome | undefined;
  const done = run(emit).then((): Outcome => ({ ok: true }), (err: unknown): Outcome => ({ ok: false, err })).then((o) => {
    outcome = o;
    wake?.();
    return o;
  });
  const first = await Promise.race([flushed, done]);
  if (first && !first.ok) throw first.err;
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
    stream: async (res: ServerResponse, closed: AbortSignal): Promise<void> => {
      for (;;) {
        while (queue.length && !closed.aborted) res.write(`${JSON.stringify(queue.shift())}\n`);
        if (outcome || closed.aborted) break;
        await new Promise<void>((r) => { wake = r; });
        wake = undefined;
      }
      const o = await done;
      while (queue.length && !closed.aborted) res.write(`${JSON.stringify(queue.shift())}\n`);
      if (!o.ok && !closed.aborted) {
        const message = (o.err as Error).message;
        res.write(`${JSON.stringify({ errorDetail: { message }, error: message })}\n`);
      }
    },
  };
}
