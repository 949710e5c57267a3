/**
 * Real Temporal servers for tests, from the binaries temporal/binaries.ts provides, through
 * @temporalio/testing's `existing-path` executables (it never downloads anything).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { resolveTemporalCli, resolveTestServer } from '../../temporal/binaries.js';
import { installTemporalRuntime } from '../../temporal/runtime.js';

/** Temporal's own warnings (expected activity failures) would interleave with test output. */
const quietRuntime = (): void => installTemporalRuntime();

export interface TestTemporal {
  address: string;
  namespace: string;
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

/** A full dev server (`temporal server start-dev`, in memory) on a free loopback port. */
export async function startTestTemporal(): Promise<TestTemporal> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: resolveTemporalCli() }, ip: '127.0.0.1' },
  });
  return { address: env.address, namespace: env.namespace ?? 'default', env, stop: () => env.teardown() };
}

/** The time-skipping test server: timers fire as soon as the workflow waits on them. */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: resolveTestServer() } },
  });
}
