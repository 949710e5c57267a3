/**
 * The blast-radius guard's records and the repository contract (store/guard.ts implements it).
 * Types only, so store/types.ts can name them without reaching the database code.
 */

/** What is counted: `runs`, or `step:<type>` for the effects of one step type. */
export type GuardCounter = 'runs' | `step:${string}`;

export interface GuardAdmission {
  automation: string;
  counter: GuardCounter;
  /** What takes the slot, unique in its window (a run id, or run id/step name): a retried admission finds its own slot. */
  subject: string;
  /** The hour window's start, ISO. */
  window: string;
  limit: number;
}

export interface GuardHold {
  runId: string;
  automation: string;
  /** The limit the run would have crossed, or that the automation was tripped already. */
  reason: string;
  heldAt: string;
}

export interface GuardTrip {
  automation: string;
  reason: string;
  trippedAt: string;
  /** When the admins were told; undefined while no notification got through. */
  notifiedAt?: string;
}

export interface GuardRepository {
  /** Takes a slot under the limit, or finds the subject's own: false when the window is full. */
  admit(admission: GuardAdmission): Promise<boolean>;
  /** Records the run as held (once); trips its automation unless tripped already. Returns the trip. */
  hold(hold: Omit<GuardHold, 'heldAt'>): Promise<GuardTrip>;
  /** The automation's trip, when it is tripped. */
  trip(automation: string): Promise<GuardTrip | undefined>;
  /** Takes the telling of this trip's admins: true for exactly one caller, until it gives it back. */
  claimNotification(automation: string, trippedAt: string): Promise<boolean>;
  /** The admins could not be told: the next held run tries again. */
  unclaimNotification(automation: string, trippedAt: string): Promise<void>;
  /** The run's hold while no decision was recorded for it. */
  pendingHold(runId: string): Promise<GuardHold | undefined>;
  /** Held runs awaiting a decision, oldest first; of one automation when named. */
  pendingHolds(automation?: string): Promise<GuardHold[]>;
  trips(): Promise<GuardTrip[]>;
  /** Records the decision on these held runs; clears the trip when none of the automation's runs is held any more. */
  decide(automation: string, runIds: readonly string[], decision: 'released' | 'discarded', actor: string): Promise<void>;
}
