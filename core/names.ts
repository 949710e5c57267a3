/** Names of definitions (automations, webhooks, functions): what URLs, CLI arguments and references use. */
import { z } from 'zod';

export const DEFINITION_NAME = /^[a-z0-9][a-z0-9-]*$/;

export const DefinitionNameSchema = z
  .string()
  .max(100)
  .regex(DEFINITION_NAME, 'use lowercase letters, digits and "-", starting with a letter or digit');

/** The run id (its Temporal workflow id) of an automation's run for an event: one run per event, a retried start is a no-op. */
export function runIdFor(automation: string, eventId: string): string {
  return `${automation}:${eventId}`;
}
