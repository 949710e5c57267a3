/**
 * Delivers the directory's outbox to the trigger pipeline. Events are committed with their
 * change (store/directory.ts); this loop hands them to `deliver` (the engine's ingest) in order
 * and marks them delivered afterwards. A crash in between re-delivers them on the next start,
 * and ingest is idempotent by event id, so nothing is lost and no run starts twice.
 *
 * It runs where the engine runs (every API process). One process at a time delivers: the one
 * holding the `directory-outbox` lease, renewed while it works. Order is then seq order across the
 * whole outbox (so per person too), and a holder that dies mid-delivery stops renewing: after
 * LEASE_TTL_MS another process takes over and re-delivers what was not marked, which ingest
 * recognises by event id. Changes made in other processes (governance steps in workers) are
 * picked up by polling; changes made here wake it at once.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { DirectoryRepository, PendingDirectoryEvent } from './repository.js';
import type { Logger } from 'pino';
import { eventLoopTurns } from './turns.js';

/** The store's named leases (Store['leases']). */
export interface Leases {
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
}

const LEASE = 'directory-outbox';
/** How long a silent holder keeps the outbox; also the longest delivery pause after a holder dies. */
export const LEASE_TTL_MS = 10_000;

const BATCH = 200;
const POLL_MS = 250;
const RETRY_MS = 2000;
// Ingest resolves as microtasks: without turns, delivering a large import's events would hold the API's event loop until the last.
const DELIVERIES_PER_TURN = 20;
/** Deliveries between renewals of the lease: well inside LEASE_TTL_MS even when ingest is slow. */
const RENEW_EVERY = 20;

export class OutboxDispatcher {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  /** This process's name on the lease. */
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly repo: DirectoryRepository,
    private readonly leases: Leases,
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

  /**
   * Delivers everything pending and resolves when the outbox is empty (tests, the demo), waiting
   * for the lease's holder when another process has it.
   */
  async drain(): Promise<void> {
    await this.#running;
    while ((await this.repo.pendingEvents(1)).length > 0) {
      if ((await this.#deliverBatch()) === 'not-holder') await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.leases
      .release(LEASE, this.holder)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not release the outbox lease'));
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

  /** Takes or renews the lease. */
  #hold(): Promise<boolean> {
    return this.leases.acquire(LEASE, this.holder, LEASE_TTL_MS);
  }

  /** Delivers one batch in order while holding the lease; returns how many events it held. */
  async #deliverBatch(): Promise<number | 'not-holder'> {
    if (!(await this.#hold())) return 'not-holder';
    const pending = await this.repo.pendingEvents(BATCH);
    const delivered: number[] = [];
    const turn = eventLoopTurns(DELIVERIES_PER_TURN);
    try {
      for (const [index, event] of pending.entries()) {
        // Renewed as it goes, so a long batch never outlives the lease; a lost lease ends the batch.
        if (index > 0 && index % RENEW_EVERY === 0 && !(await this.#hold())) return 'not-holder';
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
