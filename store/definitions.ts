import type { JsonObject } from '../core/json.js';
import { canonicalJson, nowIso, parseJsonText, sha256Hex, toJsonText } from './codec.js';
import type { Kysely } from 'kysely';
import type { StoreDialect } from './dialect.js';
import type { Database, Db, DefinitionVersionsTable } from './db.js';
import { insertAudit } from './audit.js';
import type { DefinitionKind, DefinitionVersion, Store } from './types.js';

type VersionRow = DefinitionVersionsTable;
type CurrentRow = VersionRow & { enabled: number };

function toVersion(row: VersionRow): DefinitionVersion {
  return {
    kind: row.kind as DefinitionKind,
    name: row.name,
    version: row.version,
    hash: row.hash,
    spec: parseJsonText<JsonObject>(row.spec, `definition_versions.spec of ${row.kind}/${row.name} v${row.version}`),
    source: row.source,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

function toCurrent(row: CurrentRow): DefinitionVersion & { enabled: boolean } {
  return { ...toVersion(row), enabled: row.enabled !== 0 };
}

/** Heads joined with the version each points at. */
function selectCurrent(db: Db) {
  return db
    .selectFrom('definition_heads as h')
    .innerJoin('definition_versions as v', (join) =>
      join.onRef('v.kind', '=', 'h.kind').onRef('v.name', '=', 'h.name').onRef('v.version', '=', 'h.version'),
    )
    .select(['v.kind', 'v.name', 'v.version', 'v.hash', 'v.spec', 'v.source', 'v.created_at', 'v.created_by', 'h.enabled']);
}

async function bumpGeneration(db: Db): Promise<void> {
  await db
    .updateTable('definition_generation')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('id', '=', 1)
    .execute();
}

export function definitionsRepository(db: Kysely<Database>, dialect: StoreDialect): Store['definitions'] {
  return {
    async put(input) {
      const hash = sha256Hex(canonicalJson(input.spec));
      return dialect.writeTransaction(db, 'definitions', async (trx) => {
        const current = await selectCurrent(trx).where('h.kind', '=', input.kind).where('h.name', '=', input.name).executeTakeFirst();
        // Unchanged content: nothing is written, not even `enabled` (apply must not re-enable a disabled automation).
        if (current && current.hash === hash) return { version: toVersion(current), created: false };

        const latest = await trx
          .selectFrom('definition_versions')
          .select((eb) => eb.fn.max<number | null>('version').as('version'))
          .where('kind', '=', input.kind)
          .where('name', '=', input.name)
          .executeTakeFirst();
        const now = nowIso();
        const row: VersionRow = {
          kind: input.kind,
          name: input.name,
          version: (latest?.version ?? 0) + 1,
          hash,
          spec: toJsonText(input.spec),
          source: input.source,
          created_at: now,
          created_by: input.actor,
        };
        await trx.insertInto('definition_versions').values(row).execute();
        const head = { version: row.version, enabled: input.enabled ? 1 : 0, updated_at: now };
        await trx
          .insertInto('definition_heads')
          .values({ kind: input.kind, name: input.name, ...head })
          .onConflict((conflict) => conflict.columns(['kind', 'name']).doUpdateSet(head))
          .execute();
        await bumpGeneration(trx);
        await insertAudit(
          trx,
          {
            actor: input.actor,
            action: 'definition.put',
            target: `${input.kind}/${input.name}`,
            details: { version: row.version, source: input.source },
          },
          now,
        );
        return { version: toVersion(row), created: true };
      });
    },

    async head(kind, name) {
      const row = await db.selectFrom('definition_heads').selectAll().where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
      if (!row) return undefined;
      return {
        kind: row.kind as DefinitionKind,
        name: row.name,
        version: row.version,
        enabled: row.enabled !== 0,
        updatedAt: row.updated_at,
      };
    },

    async current(kind, name) {
      const row = await selectCurrent(db).where('h.kind', '=', kind).where('h.name', '=', name).executeTakeFirst();
      return row && toCurrent(row);
    },

    async get(kind, name, version) {
      const row = await db
        .selectFrom('definition_versions')
        .selectAll()
        .where('kind', '=', kind)
        .where('name', '=', name)
        .where('version', '=', version)
        .executeTakeFirst();
      return row && toVersion(row);
    },

    async history(kind, name) {
      const rows = await db
        .selectFrom('definition_versions')
        .selectAll()
        .where('kind', '=', kind)
        .where('name', '=', name)
        .orderBy('version', 'asc')
        .execute();
      return rows.map(toVersion);
    },

    async list(kind) {
      const rows = await selectCurrent(db).where('h.kind', '=', kind).orderBy('h.name', 'asc').execute();
      return rows.map(toCurrent);
    },

    async setEnabled(kind, name, enabled, actor) {
      await dialect.writeTransaction(db, 'definitions', async (trx) => {
        const now = nowIso();
        const head = await trx
          .updateTable('definition_heads')
          .set({ enabled: enabled ? 1 : 0, updated_at: now })
          .where('kind', '=', kind)
          .where('name', '=', name)
          .returning('version')
          .executeTakeFirst();
        if (!head) throw new Error(`store: cannot ${enabled ? 'enable' : 'disable'} ${kind} "${name}": no such definition`);
        await bumpGeneration(trx);
        await insertAudit(
          trx,
          {
            actor,
            action: enabled ? 'definition.enable' : 'definition.disable',
            target: `${kind}/${name}`,
            details: { version: head.version, enabled },
          },
          now,
        );
      });
    },

    async generation() {
      const row = await db.selectFrom('definition_generation').select('value').where('id', '=', 1).executeTakeFirst();
      if (!row) throw new Error('store: definition_generation has no row (id 1); the schema was not migrated');
      return row.value;
    },
  };
}
