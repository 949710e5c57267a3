/**
 * The engine's side of one person at a time (workflows/person-queue.ts): which person an event is
 * about, the order in which this process hands the person's events to their queue, and the hand-over.
 *
 * Event order is the order ingest received the events: each ingest about a person takes a turn
 * when it receives the event (before its first await) and hands its runs to the queue only after
 * the turn before it did, so events received in the same millisecond keep their order though
 * their matching and recording overlap. Directory events arrive one at a time in outbox order.
 */
import type { JsonObject } from '../core/json.js';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { cancelPersonRunSignal, personEventSignal, personQueue, personQueueId, type QueuedRun } from '../workflows/person-queue.js';
import { subjectIdentity } from '../triggers/events.js';
import { jsonBytes, TEMPORAL_INPUT_LIMIT_BYTES } from './event-input.js';

/** What the signal's encoding, event id and metadata add to the data and the runs, with room to spare. */
const SIGNAL_OVERHEAD_BYTES = 4096;

/** An ingest's place in its person's line: `ready` when the ingests received before it handed over. */
export interface PersonTurn {
  person: string;
  ready: Promise<void>;
  done(): void;
}

/** The person an event is about: the id of its subject (`subject` in CEL), when it has one. */
export function personOf(data: JsonObject): string | undefined {
  return subjectIdentity(data).id;
}

export class PersonQueues {
  /** The last turn taken per person in this process; gone once it is done. */
  readonly #lines = new Map<string, Promise<void>>();

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Takes the next turn for the person; its holder calls done() whatever happens. */
  turn(person: string): PersonTurn {
    const ready = this.#lines.get(person) ?? Promise.resolve();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const line = ready.then(() => released);
    this.#lines.set(person, line);
    return {
      person,
      ready,
      done: () => {
        release();
        void line.then(() => {
          if (this.#lines.get(person) === line) this.#lines.delete(person);
        });
      },
    };
  }

  /**
   * Queues the event's runs behind the person's earlier ones, starting the person's queue if it is
   * idle. The data goes once with the runs' inputs, in as many signals as Temporal's payload limit
   * needs (each run's input was checked against it alone); in order, so the runs keep theirs.
   */
  async enqueue(person: string, event: { id: string; data: JsonObject }, runs: QueuedRun[]): Promise<void> {
    const budget = TEMPORAL_INPUT_LIMIT_BYTES - jsonBytes(event.data) - SIGNAL_OVERHEAD_BYTES;
    const batches: QueuedRun[][] = [];
    let size = Infinity;
    for (const run of runs) {
      const bytes = jsonBytes(run);
      if (size + bytes > budget) {
        batches.push([]);
        size = 0;
      }
      batches.at(-1)?.push(run);
      size += bytes;
    }
    for (const batch of batches) {
      await this.client.workflow.signalWithStart(personQueue, {
        workflowId: personQueueId(person),
        taskQueue: this.taskQueue,
        signal: personEventSignal,
        signalArgs: [{ eventId: event.id, data: event.data, runs: batch }],
      });
    }
  }

  /** Cancels a run of the person's, which may still be in their queue; false when the person has no queue. */
  async cancel(person: string, runId: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(personQueueId(person)).signal(cancelPersonRunSignal, runId);
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  /** Tells the person's waiting runs of an event that started nothing; an idle person has none. */
  async tell(person: string, event: { id: string; data: JsonObject }): Promise<void> {
    try {
      await this.client.workflow
        .getHandle(personQueueId(person))
        .signal(personEventSignal, { eventId: event.id, data: event.data, runs: [] });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
}
