/**
 * The step registry: the one place that lists step types. Adding a step type is one new module
 * in steps/ and one line here.
 */
import { runAutomationStep } from './run_automation.js';
import { runWebhookStep } from './run_webhook.js';
import { sendEmailStep } from './send_email.js';
import { sendSlackStep } from './send_slack.js';
import type { StepType } from './types.js';
import { waitStep } from './wait.js';

const steps: StepType[] = [waitStep, runWebhookStep, runAutomationStep, sendEmailStep, sendSlackStep];

export const stepRegistry: ReadonlyMap<string, StepType> = new Map(steps.map((step) => [step.type, step]));

export function stepTypeNames(): string[] {
  return [...stepRegistry.keys()].sort();
}
