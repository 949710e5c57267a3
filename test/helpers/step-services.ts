/** The real StepServices of one step of one run, over a given store: for tests of a step's retry behaviour. */
import { pino } from 'pino';
import { createMailer, mailSettingsFromEnv, type Mailer } from '../../integrations/mail/adapter.js';
import { createStepServices } from '../../activities/services.js';
import { createSlackPoster } from '../../integrations/slack/adapter.js';
import { DirectoryService } from '../../directory/service.js';
import { FunctionService } from '../../functions/service.js';
import type { StepServices } from '../../steps/types.js';
import type { Store } from '../../store/types.js';

export function stepServicesFor(options: { store: Store; stepType: string; mailer?: Mailer; functions?: FunctionService; env?: NodeJS.ProcessEnv }): StepServices {
  const { store, stepType } = options;
  return createStepServices({
    request: { runId: `test:${stepType}-retry`, automation: 'test', version: 1, stepName: 'the_step', stepType, input: {} },
    attempt: 1,
    log: pino({ level: 'silent' }),
    store,
    env: options.env ?? {},
    signal: new AbortController().signal,
    heartbeat: () => undefined,
    mailer: options.mailer ?? createMailer(mailSettingsFromEnv({})),
    directory: new DirectoryService(store.directory),
    functions: options.functions ?? new FunctionService({ store, env: {} }),
    slack: createSlackPoster(undefined),
  });
}
