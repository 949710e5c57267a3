/** The bare-Temporal baseline: one workflow that runs one activity, nothing else. */
import { proxyActivities } from '@temporalio/workflow';

export interface BaselineActivities {
  deliver(url: string, payload: unknown): Promise<number>;
}

const { deliver } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30s' });

export async function bareWorkflow(url: string, payload: unknown): Promise<number> {
  return deliver(url, payload);
}
