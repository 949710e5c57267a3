/**
 * A step's directory effects, read off the writes it made to the plan's view: whatever the step
 * type, what it changed is what the plan says it would change.
 */
import type { PlanEffect } from '../core/plan.js';
import type { DirectoryWrite } from './directory-view.js';

function effectOf(write: DirectoryWrite): PlanEffect | undefined {
  switch (write.table) {
    case 'grants': {
      const { before, after } = write;
      if (after && !before)
        return {
          kind: 'grant',
          user: after.userId,
          entitlement: after.entitlement,
          ...(after.expiresAt && { expiresAt: after.expiresAt }),
        };
      if (before && !after) return { kind: 'revoke', user: before.userId, entitlement: before.entitlement };
      return undefined;
    }
    case 'users': {
      const { before, after } = write;
      return before && after && before.status !== after.status
        ? { kind: 'status', user: after.id, from: before.status, to: after.status }
        : undefined;
    }
    case 'accounts': {
      const { before, after } = write;
      if (after && !before)
        return {
          kind: 'account',
          user: after.userId,
          app: after.app,
          username: after.username,
          ...(after.email !== undefined && { email: after.email }),
        };
      if (before && after && before.status !== after.status)
        return { kind: 'account_status', user: after.userId, app: after.app, from: before.status, to: after.status };
      return undefined;
    }
    case 'tasks': {
      const { before, after } = write;
      if (!before || !after) return undefined;
      if (before.assigneeId !== after.assigneeId)
        return { kind: 'tasks', user: before.assigneeId, action: 'reassign', tasks: [after.id], to: after.assigneeId };
      if (before.state !== after.state) return { kind: 'tasks', user: before.assigneeId, action: after.state, tasks: [after.id], to: null };
      return undefined;
    }
    case 'campaigns': {
      const { before, after } = write;
      return after && !before
        ? { kind: 'campaign', user: after.userId, template: after.templateId, reviewer: after.reviewerId ?? null, items: after.items }
        : undefined;
    }
    case 'delegates': {
      const from = write.before?.delegateId ?? null;
      const to = write.after?.delegateId ?? null;
      const user = (write.before ?? write.after)?.userId as string;
      return from === to ? undefined : { kind: 'delegate', user, from, to, removedAsDelegateOf: [] };
    }
    case 'enrollments':
      return write.before && !write.after
        ? { kind: 'access_profiles', user: write.before.userId, removed: [write.before.profileId] }
        : undefined;
    default:
      // Apps, entitlements, profiles and templates: a step never writes them (a Directory document does).
      return undefined;
  }
}

/** Task changes of one person with one action, and profiles removed from one person, read as one effect each. */
function merged(previous: PlanEffect | undefined, next: PlanEffect): boolean {
  if (
    previous?.kind === 'tasks' &&
    next.kind === 'tasks' &&
    previous.user === next.user &&
    previous.action === next.action &&
    previous.to === next.to
  ) {
    previous.tasks.push(...next.tasks);
    return true;
  }
  if (previous?.kind === 'access_profiles' && next.kind === 'access_profiles' && previous.user === next.user) {
    previous.removed.push(...next.removed);
    return true;
  }
  return false;
}

export function effectsOfWrites(writes: readonly DirectoryWrite[]): PlanEffect[] {
  const effects: PlanEffect[] = [];
  for (const write of writes) {
    const effect = effectOf(write);
    if (effect && !merged(effects.at(-1), effect)) effects.push(effect);
  }
  return effects;
}
