/**
 * A plan (core/plan.ts) as a readable tree: each event, the automations it would match (or why not),
 * their steps with the effects they would have, what the plan cannot know, and where a run would fail.
 */
import type { AutomationPlan, Plan } from '../api/types.js';
import { JsonView } from './JsonView.js';
import { Status } from './Status.js';

type Effect = AutomationPlan['steps'][number]['effects'][number];

/** One effect as a sentence; the rare kinds fall back to their fields. */
function describe(effect: Effect): string {
  switch (effect.kind) {
    case 'grant':
      return `grant ${effect.entitlement} to ${effect.user}${effect.expiresAt ? ` until ${effect.expiresAt}` : ''}`;
    case 'revoke':
      return `revoke ${effect.entitlement} from ${effect.user}`;
    case 'status':
      return `set ${effect.user} ${effect.from} → ${effect.to}`;
    case 'account':
      return `create the ${effect.app} account ${effect.username} for ${effect.user}`;
    case 'account_status':
      return `${effect.app} account of ${effect.user}: ${effect.from} → ${effect.to}`;
    case 'email':
      return `email “${effect.subject}” to ${effect.to.join(', ')}`;
    case 'slack':
      return `Slack to ${effect.channel}: ${effect.text}`;
    case 'webhook':
      return `webhook ${effect.webhook} (${effect.url})`;
    case 'wait':
      return `wait until ${effect.until}`;
    case 'approval':
      return `ask ${effect.approvers.join(', ')} to approve (${effect.quorum})`;
    case 'function':
      return `function ${effect.function}${effect.ran ? ' (ran)' : effect.reason ? ` (not run: ${effect.reason})` : ''}`;
    case 'provision':
      return `${effect.action} ${effect.user} in ${effect.app} via ${effect.via}`;
    case 'run_automation':
      return `run ${effect.automation}${effect.wait ? ' and wait' : ''}${effect.stopped ? ` (stopped: ${effect.stopped})` : ''}`;
    default: {
      const { kind, ...rest } = effect;
      return `${kind.replace('_', ' ')} ${JSON.stringify(rest)}`;
    }
  }
}

export function AutomationPlanView({ plan }: { plan: AutomationPlan }) {
  return (
    <div className="plan-automation">
      <p>
        <strong>{plan.name}</strong> <span className="muted">v{plan.version}</span>{' '}
        {plan.matched ? <span className="status status-completed">matches</span> : <span className="status">does not match</span>}
        {plan.reason && <span className="muted"> — {plan.reason}</span>}
      </p>
      {plan.matched && (
        <ol className="plan-steps">
          {plan.steps.map((step) => (
            <li key={step.name} className={step.error ? 'plan-step failing' : 'plan-step'}>
              <span className="step-name">{step.name}</span> <span className="muted">{step.type}</span>{' '}
              {step.skipped && <Status value="skipped" />}
              {step.unknown && <span className="badge">unknown</span>}
              {step.error && <span className="error-text"> would fail: {step.error}</span>}
              {step.reason && !step.error && <span className="muted"> — {step.reason}</span>}
              {step.effects.length > 0 && (
                <ul className="effects">
                  {step.effects.map((effect, index) => (
                    <li key={index}>
                      <span className={`effect effect-${effect.kind}`}>{effect.kind.replace('_', ' ')}</span> {describe(effect)}
                      {effect.kind === 'run_automation' && effect.plan && <AutomationPlanView plan={effect.plan} />}
                    </li>
                  ))}
                </ul>
              )}
              <details>
                <summary>Rendered input</summary>
                <JsonView value={step.input} label={`Planned input of ${step.name}`} />
              </details>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export function PlanView({ plan }: { plan: Plan }) {
  return (
    <div className="plan">
      <p className="plan-summary">
        <strong>{plan.summary.text}</strong>
        {plan.summary.unknownSteps > 0 && <span className="badge">{plan.summary.unknownSteps} unknown</span>}
        {plan.summary.failingSteps > 0 && <span className="badge badge-error">{plan.summary.failingSteps} failing</span>}
      </p>
      {plan.summary.truncated && <p className="warning">Stopped early: {plan.summary.truncated}</p>}
      {plan.events.map((planned, index) => (
        <section key={planned.event.id ?? index} className="plan-event" aria-label={`Event ${planned.event.type}`}>
          <h3>
            {planned.event.type} {planned.event.id && <span className="muted mono">{planned.event.id}</span>}
            {planned.cause?.source === 'step' && (
              <span className="muted">
                {' '}
                from {planned.cause.automation} / {planned.cause.step}
              </span>
            )}
          </h3>
          {planned.automations.length === 0 && <p className="muted">No automation listens to this event.</p>}
          {planned.automations.map((automation) => (
            <AutomationPlanView key={automation.name} plan={automation} />
          ))}
        </section>
      ))}
    </div>
  );
}
