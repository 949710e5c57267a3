/**
 * Long loops in the API process (an HR import of 100,000 people) give the event loop a turn now
 * and then: the store's calls resolve as microtasks, so without this no request, not even
 * /healthz, is answered until the loop ends.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** A function to await once per iteration; every `every`-th call waits for the next event-loop turn. */
export function eventLoopTurns(every = 500): () => Promise<void> {
  let calls = 0;
  return async () => {
    if (++calls % every === 0) await nextTurn();
  };
}
