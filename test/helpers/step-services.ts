/** The real StepServices of one step of one run, over a given store: for tests of a step's retry behaviour. */
import { pino } from 'pino';
import { createStepServices } from '../../activities/services.js';
import { DirectoryService } from '../../directory/service.js';
import { ProvisioningService } from '../../provisioning/service.js';
import { FunctionService } from '../../functions/service.js';
import { loadIntegrations } from '../../integrations/adapters.js';
import { stepRegistry } from '../../steps/registry.js';
import type { StepServices } from '../../steps/types.js';
import type { Store } from '../../store/types.js';

/** The step type's integrations are built by their adapters from `env`, as a worker builds them. */
export async function stepServicesFor(options: {
  store: Store;
  stepType: string;
  functions?: FunctionService;
  env?: NodeJS.ProcessEnv;
}): Promise<StepServices> {
  const { store, stepType } = options;
  const env = options.env ?? {};
  const functions = options.functions ?? new FunctionService({ store, env: {} });
  const step = stepRegistry.get(stepType);
  const listedIntegrations = step?.runsIn === 'activity' ? (step.integrations ?? []) : [];
  return createStepServices({
    request: { runId: `test:${stepType}-retry`, automation: 'test', version: 1, stepName: 'the_step', stepType, input: {} },
    attempt: 1,
    log: pino({ level: 'silent' }),
    store,
    signal: new AbortController().signal,
    heartbeat: () => undefined,
    integrations: await loadIntegrations(listedIntegrations, { env, store }),
    listedIntegrations,
    provisioning: ProvisioningService.create({ env, store, directory: new DirectoryService(store.directory), functions }),
    functions,
  });
}
