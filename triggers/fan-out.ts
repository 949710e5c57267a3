/** Bounds of `forEachUserConcurrency`; dependency-free so workflow code can import it. */
export const DEFAULT_FAN_OUT_CONCURRENCY = 10;
export const MAX_FAN_OUT_CONCURRENCY = 100;
