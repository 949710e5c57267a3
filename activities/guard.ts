/**
 * The blast-radius guard's activities: count a run or a step's effect against the automation's
 * hourly limits in the store (shared by every worker), or hold the run, trip its automation and
 * tell the admins once per trip. The limits are the automation's `guard:` over the server's
 * defaults (IDFLOW_GUARD_*), read once per worker.
 */
import type { Logger } from 'pino';
import type { GuardSpec } from '../definitions/guard.js';
import type { MailService } from '../integrations/mail/types.js';
import type { SlackService } from '../integrations/slack/types.js';
import type { GuardCounter, GuardTrip } from '../store/guard-types.js';
import type { Store } from '../store/types.js';
import type { GuardActivities, GuardAnswer, GuardRunRequest } from './guard-contract.js';

/** The server's limits for automations that do not set their own. */
export interface GuardDefaults {
  /** Runs an hour of any automation (IDFLOW_GUARD_RUNS_PER_HOUR). */
  runsPerHour?: number;
  /** Runs an hour of a leaver automation, triggered by user.deactivated (IDFLOW_GUARD_LEAVER_RUNS_PER_HOUR). */
  leaverRunsPerHour?: number;
  /** Effects an hour per step type, over all runs of one automation (IDFLOW_GUARD_STEP_EFFECTS_PER_HOUR). */
  stepEffectsPerHour: Record<string, number>;
}

/**
 * On by default: no HR feed legitimately ends 100 people's employment in one hour of one
 * automation, and a mistaken one is stopped after 100 instead of thousands; any automation may
 * start 1,000 runs an hour (a joiner wave of a large company); taking access away is limited per
 * step so a mover or reconciliation automation cannot strip hundreds either.
 */
export const DEFAULT_GUARD: GuardDefaults = {
  runsPerHour: 1000,
  leaverRunsPerHour: 100,
  stepEffectsPerHour: { revoke_entitlements: 200, remove_access_profiles: 200, modify_user_status: 200 },
};

const LEAVER_TRIGGER = 'user.deactivated';

/** `off` (or 0) lifts a default; a number replaces it. */
function limitSetting(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined): number | undefined {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  if (text === 'off' || text === '0') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a whole number of at least 1 or "off", got ${JSON.stringify(text)}`);
  return value;
}

/** The defaults in force: DEFAULT_GUARD with the environment's settings over it. */
export function guardDefaults(env: NodeJS.ProcessEnv): GuardDefaults {
  const stepEffectsPerHour = { ...DEFAULT_GUARD.stepEffectsPerHour };
  const steps = env.IDFLOW_GUARD_STEP_EFFECTS_PER_HOUR?.trim();
  if (steps === 'off') for (const type of Object.keys(stepEffectsPerHour)) delete stepEffectsPerHour[type];
  else if (steps)
    for (const entry of steps.split(',')) {
      const [type = '', limit = ''] = entry.split('=').map((part) => part.trim());
      const value = limitSetting({ limit }, 'limit', undefined);
      if (!/^[a-z][a-z0-9_]*$/.test(type))
        throw new Error(`IDFLOW_GUARD_STEP_EFFECTS_PER_HOUR: "${entry}" is not <step type>=<limit|off> (e.g. revoke_entitlements=200)`);
      if (value === undefined) delete stepEffectsPerHour[type];
      else stepEffectsPerHour[type] = value;
    }
  return {
    runsPerHour: limitSetting(env, 'IDFLOW_GUARD_RUNS_PER_HOUR', DEFAULT_GUARD.runsPerHour),
    leaverRunsPerHour: limitSetting(env, 'IDFLOW_GUARD_LEAVER_RUNS_PER_HOUR', DEFAULT_GUARD.leaverRunsPerHour),
    stepEffectsPerHour,
  };
}

/** The automation's limits: its own, else the defaults. */
export function effectiveLimits(defaults: GuardDefaults, triggerType: string, guard: GuardSpec | undefined): GuardDefaults {
  const runsDefault = triggerType === LEAVER_TRIGGER ? defaults.leaverRunsPerHour : defaults.runsPerHour;
  return {
    runsPerHour: guard?.maxRunsPerHour ?? runsDefault,
    stepEffectsPerHour: { ...defaults.stepEffectsPerHour, ...guard?.maxStepEffectsPerHour },
  };
}

function hourWindow(now: Date): string {
  const start = new Date(now);
  start.setUTCMinutes(0, 0, 0);
  return start.toISOString();
}

export interface GuardDependencies {
  store: Store;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** The worker's mail and Slack services, when it has them: how the admins are told. */
  mail?: MailService;
  slack?: SlackService;
}

export function createGuardActivities(deps: GuardDependencies): GuardActivities {
  const { store, logger, env } = deps;
  const defaults = guardDefaults(env);
  const adminEmails = (env.IDFLOW_ADMIN_EMAIL ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean);
  const adminChannel = env.IDFLOW_ADMIN_SLACK_CHANNEL?.trim();

  /**
   * Once per trip: the first held run claims the telling (so runs held together send one message);
   * a notification that did not get through is given back, and the next held run tries again.
   */
  const notify = async (trip: GuardTrip): Promise<void> => {
    if (trip.notifiedAt || !(await store.guard.claimNotification(trip.automation, trip.trippedAt))) return;
    const text =
      `idflow's guard tripped automation "${trip.automation}": ${trip.reason}.\n\n` +
      `Its runs over the limit are held before any side effect, and every new run of it is held until an admin decides:\n\n` +
      `  idflow guard status\n  idflow guard release ${trip.automation}   (they go on)\n  idflow guard discard ${trip.automation}   (they are cancelled)\n`;
    const subject = `idflow guard: automation "${trip.automation}" tripped`;
    let told = false;
    try {
      if (adminEmails.length > 0 && deps.mail) {
        await deps.mail.send({
          messageId: `<guard.${trip.automation}.${Date.parse(trip.trippedAt)}@idflow>`,
          to: adminEmails,
          cc: [],
          bcc: [],
          subject,
          text,
          html: `<pre>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>`,
        });
        told = true;
      }
      if (adminChannel && deps.slack) {
        await deps.slack.postMessage({ channel: adminChannel, text: `*${subject}*\n${text}` });
        told = true;
      }
    } catch (error) {
      logger.error(
        { err: error instanceof Error ? error.message : String(error), automation: trip.automation },
        'guard: the admins could not be told',
      );
    }
    if (told) return;
    if (adminEmails.length > 0 || adminChannel) {
      await store.guard.unclaimNotification(trip.automation, trip.trippedAt);
      return;
    }
    // No one to tell: the worker's log says it, once per trip.
    logger.warn(
      { automation: trip.automation, reason: trip.reason },
      'guard tripped: runs are held (set IDFLOW_ADMIN_EMAIL or IDFLOW_ADMIN_SLACK_CHANNEL to be told)',
    );
  };

  const hold = async (request: GuardRunRequest, reason: string, limitedStepTypes: string[]): Promise<GuardAnswer> => {
    const trip = await store.guard.hold({ runId: request.runId, automation: request.automation, reason });
    logger.warn({ runId: request.runId, automation: request.automation, reason }, 'guard: run held');
    await notify(trip);
    return { admitted: false, reason, limitedStepTypes };
  };

  /** Held already (a retried activity), tripped (a new run waits for the admin), or a slot of the limit. */
  const admit = async (
    request: GuardRunRequest,
    counter: GuardCounter,
    subject: string,
    limit: number | undefined,
    limitedStepTypes: string[],
  ) => {
    const held = await store.guard.pendingHold(request.runId);
    if (held) return { admitted: false, reason: held.reason, limitedStepTypes };
    // A new run of a tripped automation waits for the admin even in a new hour; a run admitted before the trip goes on to its steps' own limits.
    const trip = counter === 'runs' ? await store.guard.trip(request.automation) : undefined;
    if (trip) return hold(request, `the automation is tripped (${trip.reason})`, limitedStepTypes);
    if (limit === undefined) return { admitted: true, limitedStepTypes };
    const window = hourWindow(new Date());
    if (await store.guard.admit({ automation: request.automation, counter, subject, window, limit }))
      return { admitted: true, limitedStepTypes };
    const what = counter === 'runs' ? 'runs' : `${counter.slice('step:'.length)} steps`;
    return hold(request, `more than ${limit} ${what} in the hour from ${window}`, limitedStepTypes);
  };

  return {
    async guardAdmitRun(request) {
      const limits = effectiveLimits(defaults, request.triggerType, request.guard);
      return admit(request, 'runs', request.runId, limits.runsPerHour, Object.keys(limits.stepEffectsPerHour));
    },
    async guardAdmitStep(request) {
      const limits = effectiveLimits(defaults, request.triggerType, request.guard);
      const limit = limits.stepEffectsPerHour[request.stepType];
      return admit(
        request,
        `step:${request.stepType}`,
        `${request.runId}/${request.stepName}`,
        limit,
        Object.keys(limits.stepEffectsPerHour),
      );
    },
  };
}
