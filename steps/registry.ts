/**
 * The step registry: the one place that lists step types. Adding a step type is one new module
 * in steps/ and one line here.
 */
import { callFunctionStep } from './call_function.js';
import { createAccountStep } from './create_account.js';
import { createCampaignStep } from './create_campaign.js';
import { grantEntitlementsStep } from './grant_entitlements.js';
import { modifyDelegateStep } from './modify_delegate.js';
import { modifyUserStatusStep } from './modify_user_status.js';
import { performConnectorActionStep } from './perform_connector_action.js';
import { performTaskActionStep } from './perform_task_action.js';
import { reconcileAppStep } from './reconcile_app.js';
import { removeAccessProfilesStep } from './remove_access_profiles.js';
import { requestApprovalStep } from './request_approval.js';
import { revokeEntitlementsStep } from './revoke_entitlements.js';
import { runAutomationStep } from './run_automation.js';
import { runWebhookStep } from './run_webhook.js';
import { sendEmailStep } from './send_email.js';
import { sendSlackStep } from './send_slack.js';
import type { StepType } from './types.js';
import { waitStep } from './wait.js';

const steps: StepType[] = [
  waitStep,
  runWebhookStep,
  runAutomationStep,
  callFunctionStep,
  sendEmailStep,
  sendSlackStep,
  grantEntitlementsStep,
  revokeEntitlementsStep,
  modifyUserStatusStep,
  modifyDelegateStep,
  removeAccessProfilesStep,
  createAccountStep,
  performTaskActionStep,
  createCampaignStep,
  performConnectorActionStep,
  reconcileAppStep,
  requestApprovalStep,
];

export const stepRegistry: ReadonlyMap<string, StepType> = new Map(steps.map((step) => [step.type, step]));

export function stepTypeNames(): string[] {
  return [...stepRegistry.keys()].sort();
}
