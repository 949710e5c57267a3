/** Long work inside an activity tells Temporal it is alive, so a dead worker is noticed within the step's heartbeatTimeout. */

/** Well inside the shortest heartbeat timeout the steps declare (10 s). */
const HEARTBEAT_EVERY_MS = 2_000;

/** Runs `work` while calling `activity.heartbeat()` every 2 s. */
export async function heartbeating<T>(activity: { heartbeat(): void }, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
