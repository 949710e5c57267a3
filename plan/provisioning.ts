/**
 * Provisioning in a plan: the governance steps' own code (provisioning/service.ts) decides which
 * apps a step reaches and which operations it asks of each, exactly as a run would; the apps are
 * replaced by a connector that says what it was asked and reaches nothing. A reconcile is not
 * simulated (it reads the app): the reconcile_app step plans itself.
 */
import type { PlanEffect } from '../core/plan.js';
import type { DirectoryService } from '../directory/service.js';
import type { App } from '../directory/types.js';
import type { AppConnector, GroupTarget, Subject } from '../provisioning/connector.js';
import { groupLabel } from '../provisioning/connector.js';
import { ProvisioningService } from '../provisioning/service.js';
import type { OperationOutcome, ProvisioningOperation, ProvisioningVia } from '../provisioning/types.js';

const refused = (what: string) => (): never => {
  throw new Error(`a plan reaches no ${what}`);
};

/** The operations an app would be asked for, as `provision` effects; each answers "planned". */
class PlanningConnector implements AppConnector {
  constructor(
    readonly via: ProvisioningVia,
    private readonly app: string,
    private readonly record: (effect: PlanEffect) => void,
  ) {}

  private planned(operation: ProvisioningOperation, subject: Subject, group?: GroupTarget): OperationOutcome {
    this.record({
      kind: 'provision',
      app: this.app,
      via: this.via,
      action: group ? `${operation} ${groupLabel(group)}` : operation,
      user: subject.user.id,
    });
    return { operation, ...(group && { group: groupLabel(group) }), outcome: 'planned' };
  }

  async ensureAccount(subject: Subject, stored: boolean) {
    // An account the directory holds with the app's id is there already; the real step only looks.
    if (stored && subject.account.appUserId !== undefined) return { appUserId: subject.account.appUserId };
    return { appUserId: subject.account.appUserId, outcome: this.planned('createAccount', subject) };
  }

  async setActive(subject: Subject, active: boolean) {
    return { appUserId: subject.account.appUserId, outcome: this.planned(active ? 'updateAccount' : 'disableAccount', subject) };
  }

  async deleteAccount(subject: Subject) {
    return this.planned('deleteAccount', subject);
  }

  async addToGroup(subject: Subject, group: GroupTarget) {
    return this.planned('addToGroup', subject, group);
  }

  async removeFromGroup(subject: Subject, group: GroupTarget) {
    return this.planned('removeFromGroup', subject, group);
  }
}

/** The governance actions over the plan's directory view; `record` receives each app operation a step would make. */
export class PlannedProvisioning extends ProvisioningService {
  private sink: (effect: PlanEffect) => void = () => {};

  constructor(directory: DirectoryService) {
    super({
      directory,
      leases: { acquire: refused('lease'), release: refused('lease') },
      scim: { connect: refused('SCIM app') },
      webhooks: { resolve: refused('webhook') },
      functions: { call: refused('function') },
    });
  }

  /** Where the app operations of the step being planned go. */
  recordInto(sink: (effect: PlanEffect) => void): void {
    this.sink = sink;
  }

  override async connector(app: App): Promise<AppConnector | undefined> {
    const provisioning = app.provisioning;
    const via: ProvisioningVia | undefined = provisioning?.scim
      ? 'scim'
      : provisioning?.webhook !== undefined
        ? 'webhook'
        : provisioning?.function !== undefined
          ? 'function'
          : undefined;
    return via && new PlanningConnector(via, app.slug, (effect) => this.sink(effect));
  }
}
