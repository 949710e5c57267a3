/**
 * Directory changes read back from their events (the outbox): whom each is about, and what it
 * did in a line a person reads (a timeline's "grant.revoked github:org").
 */
import type { JsonObject, JsonValue } from '../core/json.js';

const record = (value: JsonValue | undefined): JsonObject | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
const text = (value: JsonValue | undefined): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The id of the user a change is about: its user, else the account's owner. */
export function changeSubject(data: JsonObject): string | undefined {
  for (const key of ['user', 'newUser', 'oldUser']) {
    const id = text(record(data[key])?.id);
    if (id !== undefined) return id;
  }
  for (const key of ['newAccount', 'oldAccount']) {
    const id = text(record(data[key])?.userId);
    if (id !== undefined) return id;
  }
  return undefined;
}

export interface ChangeDescription {
  /** "grant.revoked github:org", "user.updated: department, title", "account.created github". */
  summary: string;
  /** grant.*: the entitlement as `app:slug`. */
  entitlement?: string;
  /** user.updated, user.deactivated: the fields that changed. */
  fields?: string[];
  /** account.*: the app's slug. */
  app?: string;
}

export function describeChange(type: string, data: JsonObject): ChangeDescription {
  if (type === 'grant.created' || type === 'grant.revoked') {
    const entitlement = record(data.entitlement);
    const slugs = [text(entitlement?.app), text(entitlement?.slug)];
    const name =
      text(record(data.grant)?.entitlement) ?? (slugs.every((slug) => slug !== undefined) ? slugs.join(':') : text(entitlement?.id));
    return name === undefined ? { summary: type } : { summary: `${type} ${name}`, entitlement: name };
  }
  if (type === 'user.updated' || type === 'user.deactivated') {
    const fields = Array.isArray(data.changes) ? data.changes.filter((field): field is string => typeof field === 'string') : [];
    return fields.length === 0 ? { summary: type } : { summary: `${type}: ${fields.join(', ')}`, fields };
  }
  if (type === 'account.created' || type === 'account.updated') {
    const app = text(record(data.newAccount)?.app);
    return app === undefined ? { summary: type } : { summary: `${type} ${app}`, app };
  }
  return { summary: type };
}
