/**
 * Signatures of the activities the automation workflow calls. Types only: workflow code imports
 * this file, the implementations live beside it.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import type { AutomationSpec } from '../definitions/schema.js';
import type { RunStatus } from '../store/types.js';

export interface RunStepRequest {
  runId: string;
  automation: string;
  version: number;
  stepName: string;
  stepType: string;
  /** The rendered `with` block. */
  input: JsonObject;
  /** The run's ctx.trigger is its recorded trigger with the field aliases (AutomationRunInput.aliasTrigger). */
  aliasTrigger?: boolean;
  /** The run's last step: its success ends the run, as completed, in the same store write. */
  completesRun?: boolean;
}

export interface RunStartedRecord {
  runId: string;
  automation: string;
  version: number;
  trigger: JsonObject;
  eventId?: string;
  parentRunId?: string;
  steps: { name: string; type: string }[];
}

export interface PinnedAutomation {
  name: string;
  version: number;
  enabled: boolean;
  spec: AutomationSpec;
}

/** Executes one activity step (a regular activity: retried per the step's retry policy). */
export interface StepActivities {
  runStep(request: RunStepRequest): Promise<JsonValue>;
}

/** Bookkeeping the workflow does around steps (local activities: fast, no extra server round trips). */
export interface RecordActivities {
  recordRunStarted(record: RunStartedRecord): Promise<void>;
  recordStepStarted(runId: string, stepName: string, input: JsonValue): Promise<void>;
  recordStepFinished(
    runId: string,
    stepName: string,
    result: { status: 'completed' | 'skipped'; output: JsonValue } | { status: 'failed' | 'cancelled'; error: string },
  ): Promise<void>;
  /** Ends the run; a failure or cancellation also replaces a completion its last step recorded (then retried, and failed). */
  recordRunFinished(runId: string, status: Exclude<RunStatus, 'running'>, error?: string): Promise<void>;
  /** The current version of an automation, for run_automation. */
  resolveAutomation(name: string): Promise<PinnedAutomation | undefined>;
}

export interface SelectUsersRequest {
  /** The forEachUser CEL. */
  expression: string;
  /** The tick's ctx.trigger (schedule, scheduledTime); now() is the scheduled time. */
  tick: JsonObject;
  /** Continue after this user id; from the start when absent. */
  afterId?: string;
  /** At most this many matches per call. */
  limit: number;
}

export interface SelectUsersResult {
  /** The matching users, in id order. */
  users: JsonObject[];
  /** Set when the scan stopped at `limit`: call again with it as afterId. */
  nextAfterId?: string;
  scanned: number;
  /** Users whose evaluation failed (a missing field, a wrong type): skipped, not matched. */
  errorCount: number;
  errors: { userId: string; message: string }[];
}

/** `forEachUser` fan-out: the users one tick runs for, a page at a time. */
export interface FanOutActivities {
  selectUsers(request: SelectUsersRequest): Promise<SelectUsersResult>;
}
