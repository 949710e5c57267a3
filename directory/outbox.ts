/**
 * Delivers the directory's outbox to the trigger pipeline. Events are committed with their
 * change (store/directory.ts); this loop hands them to `deliver` (the engine's ingest) in order
 * and marks them delivered afterwards. A crash in between re-delivers them on the next start,
 * and ingest is idempotent by event id, so nothing is lost and no run starts twice.
 *
 * It runs where the engine runs (the API process). Changes made in other processes (governance
 * steps in workers) are picked up by polling; changes made here wake it at once.
 */
import type { DirectoryRepository, PendingDirectoryEvent } from './repository.js';
import type { Logger } from 'pino';
import { eventLoopTurns } from './turns.js';

const BATCH = 200;
const POLL_MS = 250;
const RETRY_MS = 2000;
// Ingest resolves as microtasks: without turns, delivering a large import's events would hold the API's event loop until the last.
const DELIVERIES_PER_TURN = 20;

export class OutboxDispatcher {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(
    private readonly repo: DirectoryRepository,
    private readonly deliver: (event: PendingDirectoryEvent) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.wake();
  }

  /** Delivers what is pending now (coalescing calls that come while a pass runs). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.wake();
      } else {
        this.#timer = setTimeout(() => this.wake(), POLL_MS);
      }
    });
  }

  /** Delivers everything pending and resolves when the outbox is empty (tests, shutdown). */
  async drain(): Promise<void> {
    await this.#running;
    while ((await this.repo.pendingEvents(1)).length > 0) await this.#deliverBatch();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #pass(): Promise<void> {
    try {
      while (!this.#stopped && (await this.#deliverBatch()) === BATCH);
    } catch (error) {
      // The store or Temporal is unavailable: keep the events and try again a little later.
      this.logger.warn({ err: error }, 'directory events not delivered yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  /** Delivers one batch in order; returns how many events it held. */
  async #deliverBatch(): Promise<number> {
    const pending = await this.repo.pendingEvents(BATCH);
    const delivered: number[] = [];
    const turn = eventLoopTurns(DELIVERIES_PER_TURN);
    try {
      for (const event of pending) {
        await this.deliver(event);
        delivered.push(event.seq);
        await turn();
      }
    } finally {
      await this.repo.markDelivered(delivered);
    }
    return pending.length;
  }
}
