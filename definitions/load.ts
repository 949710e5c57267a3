/**
 * Turns definition files (YAML or JSON, several documents per file) into validated documents,
 * or into errors that name the file, the line and the field and say what was expected.
 * CEL conditions and templates are compiled here, so a bad expression is refused at apply time
 * and never first seen at run time.
 */
import type { FunctionSpec } from '../functions/document.js';
import type { DefinitionError, SourceFile } from './types.js';
import type { JsonObject } from '../core/json.js';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseAllDocuments, type Document } from 'yaml';
import type { z } from 'zod';
import { CelError, compileCondition } from '../cel/index.js';
import { isTemplate, templateCtxReferences, templateIssues } from '../cel/template.js';
import { stepRegistry, stepTypeNames } from '../steps/registry.js';
import type { ReferenceResolver } from '../steps/types.js';
import { declaredNames, type DirectoryDocument } from '../directory/document.js';
import { posix } from 'node:path';
import { MAX_DOCUMENTS, MAX_FILE_BYTES, MAX_NESTING, shapeIssues } from './limits.js';
import { DOCUMENT_SCHEMAS, type AutomationSpec, type DefinitionSpec } from './schema.js';
import type { WebhookSpec } from '../integrations/webhooks/document.js';
import type { EventSourceSpec } from '../sources/document.js';
import { compileMappingExpression } from '../sources/mapping.js';
import type { ScimServiceSpec } from '../scim/document.js';

export type LoadedDocument =
  | { kind: 'Automation'; name: string; spec: AutomationSpec; file: string; line: number }
  | { kind: 'Webhook'; name: string; spec: WebhookSpec; file: string; line: number }
  | { kind: 'ScimService'; name: string; spec: ScimServiceSpec; file: string; line: number }
  /** `source` is the TypeScript module the document's `file` names, found among the files given. */
  | { kind: 'Function'; name: string; spec: FunctionSpec; file: string; line: number; source: SourceFile }
  | { kind: 'Directory'; spec: DirectoryDocument; file: string; line: number; locate(path: Path, message: string): DefinitionError }
  | { kind: 'EventSource'; name: string; spec: EventSourceSpec; file: string; line: number };

export interface LoadResult {
  errors: DefinitionError[];
  documents: LoadedDocument[];
}

/** Names already defined outside the file set (in the store), for reference checks. */
export interface ExistingNames {
  webhooks: string[];
  automations: string[];
  /** Functions that exist; without them (offline validation) call_function names are not checked. */
  functions?: string[];
  /** What the directory holds; without it (offline validation) directory references are not checked. */
  directory?: DirectoryNames;
}

export interface DirectoryNames {
  /** Entitlement ids and `app:slug` names. */
  entitlements: string[];
  /** App ids and slugs. */
  apps: string[];
  /** App id and slug → the connector actions it declares. */
  appActions: Map<string, string[]>;
  accessProfiles: string[];
  campaignTemplates: string[];
}

type Path = (string | number)[];

/** Function sources travel beside the documents; they are not documents themselves. */
const FUNCTION_SOURCE = /\.ts$/;

/** Locates paths of one parsed document in its file. */
class DocumentLocator {
  constructor(
    private readonly file: string,
    private readonly document: Document,
    private readonly lines: LineCounter,
  ) {}

  /**
   * An error at `path`: at its value when it exists; when it does not (a missing field), at the
   * key of its nearest existing parent, e.g. the `trigger:` line for a missing trigger.type.
   */
  error(path: Path, message: string, offsetInValue = 0): DefinitionError {
    const { line, col } = this.lines.linePos(this.offsetOf(path, offsetInValue));
    return { file: this.file, line, column: col, path: formatPath(path), message };
  }

  private offsetOf(path: Path, offsetInValue: number): number {
    const node = this.document.getIn(path, true);
    if (isNode(node) && node.range) return node.range[0] + offsetInValue;
    for (let depth = path.length - 1; depth > 0; depth--) {
      const parent = this.document.getIn(path.slice(0, depth - 1), true) ?? this.document.contents;
      if (!isMap(parent) && !isSeq(parent)) continue;
      const key = path[depth - 1];
      const pair = isMap(parent) ? parent.items.find((item) => isScalar(item.key) && item.key.value === key) : undefined;
      if (pair && isNode(pair.key) && pair.key.range) return pair.key.range[0];
      const item = isSeq(parent) && typeof key === 'number' ? parent.items[key] : undefined;
      if (isNode(item) && item.range) return item.range[0];
    }
    return this.document.contents?.range?.[0] ?? 0;
  }
}

export function formatPath(path: Path): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${key}` : key), '');
}

/** `file:line:column: path: message`, as editors and terminals link it. */
export function formatDefinitionError(error: DefinitionError): string {
  return `${error.file}:${error.line ?? 0}:${error.column ?? 0}: ${error.path ? `${error.path}: ` : ''}${error.message}`;
}

function zodErrors(
  locator: DocumentLocator,
  issues: z.core.$ZodIssue[],
  prefix: Path = [],
  skip?: (path: Path) => boolean,
): DefinitionError[] {
  const errors: DefinitionError[] = [];
  for (const issue of issues) {
    const issuePath = issue.path.filter((key): key is string | number => typeof key !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push(locator.error([...prefix, ...issuePath, key], `unknown field "${key}"`));
      continue;
    }
    if (skip?.(issuePath)) continue;
    errors.push(locator.error([...prefix, ...issuePath], issue.message));
  }
  return errors;
}

function valueAt(value: unknown, path: Path): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** A YAML library error, said in terms of idflow's limits where one was hit. */
function yamlProblem(message: string): string {
  if (message.includes('Maximum call stack size exceeded'))
    return `YAML: nested too deeply: at most ${MAX_NESTING} levels of maps and lists`;
  if (message.includes('Excessive alias count'))
    return 'YAML: aliases expand to too many values (an alias bomb?): expand fewer aliases or write the values out';
  return `YAML: ${message.split('\n')[0]}`;
}

const isDocumentKind = (kind: unknown): kind is keyof typeof DOCUMENT_SCHEMAS =>
  typeof kind === 'string' && Object.hasOwn(DOCUMENT_SCHEMAS, kind);

/** Parses every document of every file; YAML syntax errors, size limits and schema errors are collected. */
function parseFiles(files: SourceFile[]): {
  errors: DefinitionError[];
  parsed: { spec: DefinitionSpec; locator: DocumentLocator; file: string; line: number }[];
} {
  const errors: DefinitionError[] = [];
  const parsed: { spec: DefinitionSpec; locator: DocumentLocator; file: string; line: number }[] = [];
  let documentCount = 0;
  for (const file of files) {
    if (FUNCTION_SOURCE.test(file.path)) continue;
    const bytes = Buffer.byteLength(file.content);
    if (bytes > MAX_FILE_BYTES) {
      errors.push({
        file: file.path,
        line: 1,
        column: 1,
        path: '',
        message: `the file is ${bytes} bytes; at most ${MAX_FILE_BYTES} bytes per file: split it`,
      });
      continue;
    }
    const lines = new LineCounter();
    const documents = parseAllDocuments(file.content, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const list = Array.isArray(documents) ? documents : [];
    if (!Array.isArray(documents)) {
      errors.push({ file: file.path, path: '', message: 'not a YAML or JSON document stream' });
    }
    for (const document of list) {
      if (document.errors.length > 0) {
        for (const problem of document.errors) {
          const { line, col } = lines.linePos(problem.pos[0]);
          errors.push({ file: file.path, line, column: col, path: '', message: yamlProblem(problem.message) });
        }
        continue;
      }
      if (document.contents === null) continue; // an empty document, e.g. a trailing '---'
      const locator = new DocumentLocator(file.path, document, lines);
      const startLine = lines.linePos(document.contents.range?.[0] ?? 0).line;
      if (++documentCount > MAX_DOCUMENTS) {
        errors.push(locator.error([], `more than ${MAX_DOCUMENTS} documents in one apply: apply them in several parts`));
        return { errors, parsed };
      }
      if (!isMap(document.contents)) {
        errors.push(
          locator.error(
            [],
            'expected a mapping with "kind: Automation", "kind: Webhook", "kind: Function", "kind: Directory", "kind: EventSource" or "kind: ScimService"',
          ),
        );
        continue;
      }
      let raw: unknown;
      try {
        raw = document.toJS();
      } catch (error) {
        // Alias expansion is where YAML can grow without bound; the library stops it with an error.
        errors.push(locator.error([], yamlProblem(error instanceof Error ? error.message : String(error))));
        continue;
      }
      const shape = shapeIssues(raw);
      if (shape.length > 0) {
        errors.push(...shape.map((issue) => locator.error(issue.path, issue.message)));
        continue;
      }
      const kind = (raw as { kind?: unknown }).kind;
      if (!isDocumentKind(kind)) {
        errors.push(
          locator.error(
            ['kind'],
            `expected kind "Automation", "Webhook", "Function", "Directory", "EventSource" or "ScimService", got ${JSON.stringify(kind ?? null)}`,
          ),
        );
        continue;
      }
      const schema = DOCUMENT_SCHEMAS[kind as keyof typeof DOCUMENT_SCHEMAS];
      const result = schema.safeParse(raw);
      if (!result.success) {
        // Step `with` blocks are validated per step type below, where templates are understood.
        errors.push(...zodErrors(locator, result.error.issues));
        continue;
      }
      parsed.push({ spec: result.data, locator, file: file.path, line: startLine });
    }
  }
  return { errors, parsed };
}

function checkAutomation(spec: AutomationSpec, locator: DocumentLocator, refs: ReferenceResolver): DefinitionError[] {
  const errors: DefinitionError[] = [];
  if (spec.trigger.type !== 'schedule' && spec.trigger.condition !== undefined) {
    errors.push(...checkExpression(spec.trigger.condition, ['trigger', 'condition'], locator, new Set(['trigger']), 'the condition'));
  }
  for (const key of ['cancelWhen', 'rescheduleWhen'] as const) {
    const expression = spec[key];
    if (expression !== undefined) errors.push(...checkExpression(expression, [key], locator, new Set(['trigger', 'run']), key));
  }
  if (spec.trigger.type === 'schedule' && spec.trigger.forEachUser !== undefined) {
    errors.push(...checkExpression(spec.trigger.forEachUser, ['trigger', 'forEachUser'], locator, new Set(['trigger']), 'forEachUser'));
  }
  // Names of the steps so far, in order; a Set, so that checking each step stays O(1) (apply is linear).
  const earlier = new Set<string>();
  spec.steps.forEach((step, index) => {
    const at: Path = ['steps', index];
    if (earlier.has(step.name)) {
      errors.push(locator.error([...at, 'name'], `duplicate step name "${step.name}": step names must be unique in an automation`));
    }
    const stepType = stepRegistry.get(step.type);
    if (!stepType) {
      errors.push(locator.error([...at, 'type'], `unknown step type "${step.type}"; known types: ${stepTypeNames().join(', ')}`));
      earlier.add(step.name);
      return;
    }
    if (step.if !== undefined) {
      const visible = new Set(['trigger', ...earlier]);
      errors.push(
        ...checkExpression(step.if, [...at, 'if'], locator, visible, 'the condition', (reference) =>
          unknownReference(
            reference,
            [...earlier],
            spec.steps.map((s) => s.name),
          ),
        ),
      );
    }
    const input = step.with as JsonObject;
    const isTemplated = (path: Path): boolean => {
      const value = valueAt(input, path);
      return typeof value === 'string' && isTemplate(value);
    };
    const result = stepType.with.safeParse(input);
    if (!result.success) errors.push(...zodErrors(locator, result.error.issues, [...at, 'with'], isTemplated));
    for (const issue of stepType.checkReferences?.(input, refs) ?? []) {
      if (!isTemplated(issue.path)) errors.push(locator.error([...at, 'with', ...issue.path], issue.message));
    }
    for (const issue of templateIssues(input)) errors.push(locator.error([...at, 'with', ...issue.path], issue.message));
    for (const reference of templateCtxReferences(input)) {
      if (reference !== 'trigger' && !earlier.has(reference)) {
        errors.push(
          locator.error(
            [...at, 'with'],
            unknownReference(
              reference,
              [...earlier],
              spec.steps.map((s) => s.name),
            ),
          ),
        );
      }
    }
    earlier.add(step.name);
  });
  return errors;
}

/** A source's mapping expressions compile over body, headers and delivery, and give lists. */
function checkEventSource(spec: EventSourceSpec, locator: DocumentLocator): DefinitionError[] {
  const errors: DefinitionError[] = [];
  for (const field of ['events', 'users'] as const) {
    const expression = spec.mapping[field];
    if (expression === undefined) continue;
    try {
      compileMappingExpression(expression);
    } catch (error) {
      if (!(error instanceof CelError)) throw error;
      errors.push(locator.error(['mapping', field], `CEL ${error.kind} error: ${error.message}`));
    }
  }
  return errors;
}

/** Each app's provisioning names a webhook or function that exists (or comes with this file set). */
function checkProvisioning(spec: DirectoryDocument, locator: DocumentLocator, refs: ReferenceResolver): DefinitionError[] {
  return spec.apps.flatMap((app, index) => {
    const at: Path = ['apps', index, 'provisioning'];
    const { webhook, function: fn } = app.provisioning ?? {};
    if (webhook !== undefined && !refs.hasWebhook(webhook))
      return [locator.error([...at, 'webhook'], `unknown webhook "${webhook}": declare it with kind: Webhook`)];
    if (fn !== undefined && !refs.hasFunction(fn))
      return [locator.error([...at, 'function'], `function "${fn}" is not defined: apply a kind: Function document named "${fn}"`)];
    return [];
  });
}

function unknownReference(reference: string, earlier: string[], all: string[]): string {
  const available = ['trigger', ...earlier].join(', ');
  const later = all.includes(reference) ? ` (step "${reference}" runs later, so its output is not there yet)` : '';
  return `ctx.${reference} is not defined here${later}; available: ${available}`;
}

function checkExpression(
  expression: string,
  path: Path,
  locator: DocumentLocator,
  visible: Set<string>,
  what: string,
  unknown: (reference: string) => string = (reference) =>
    `${what} refers to ctx.${reference}; only ${[...visible].map((v) => `ctx.${v}`).join(' and ')} ${visible.size === 1 ? 'is' : 'are'} known when it is evaluated`,
): DefinitionError[] {
  try {
    const compiled = compileCondition(expression);
    return compiled.ctxReferences
      .filter((reference) => !visible.has(reference))
      .map((reference) => locator.error(path, unknown(reference)));
  } catch (error) {
    if (error instanceof CelError) return [locator.error(path, `CEL ${error.kind} error: ${error.message}`)];
    throw error;
  }
}

/**
 * Validates a file set against itself and the names that already exist. Nothing is applied
 * from a file set with errors, so every error in every file is reported at once.
 */
export function loadDefinitions(files: SourceFile[], existing: ExistingNames): LoadResult {
  const { errors, parsed } = parseFiles(files);
  const seen = new Map<string, string>();
  for (const entry of parsed) {
    if (entry.spec.kind === 'Directory') continue;
    const key = `${entry.spec.kind}/${entry.spec.name}`;
    const first = seen.get(key);
    if (first) errors.push(entry.locator.error(['name'], `${key} is defined twice in this file set (first in ${first})`));
    else seen.set(key, `${entry.file}:${entry.line}`);
  }
  const namesOf = (kind: string, known: string[]) =>
    new Set([...known, ...parsed.flatMap((e) => (e.spec.kind === kind && 'name' in e.spec ? [e.spec.name] : []))]);
  const webhooks = namesOf('Webhook', existing.webhooks);
  const automations = namesOf('Automation', existing.automations);
  const functions = existing.functions && namesOf('Function', existing.functions);
  const refs: ReferenceResolver = {
    hasWebhook: (n) => webhooks.has(n),
    hasAutomation: (n) => automations.has(n),
    hasFunction: (n) => functions?.has(n) ?? true,
    ...directoryResolver(existing.directory, parsed),
  };
  const documents: LoadedDocument[] = [];
  for (const entry of parsed) {
    if (entry.spec.kind === 'Automation') {
      errors.push(...checkAutomation(entry.spec, entry.locator, refs));
      documents.push({ kind: 'Automation', name: entry.spec.name, spec: entry.spec, file: entry.file, line: entry.line });
    } else if (entry.spec.kind === 'Webhook') {
      documents.push({ kind: 'Webhook', name: entry.spec.name, spec: entry.spec, file: entry.file, line: entry.line });
    } else if (entry.spec.kind === 'EventSource') {
      errors.push(...checkEventSource(entry.spec, entry.locator));
      documents.push({ kind: 'EventSource', name: entry.spec.name, spec: entry.spec, file: entry.file, line: entry.line });
    } else if (entry.spec.kind === 'ScimService') {
      documents.push({ kind: 'ScimService', name: entry.spec.name, spec: entry.spec, file: entry.file, line: entry.line });
    } else if (entry.spec.kind === 'Function') {
      const { locator } = entry;
      const path = posix.normalize(posix.join(posix.dirname(entry.file.replaceAll('\\', '/')), entry.spec.file));
      const source = files.find((file) => posix.normalize(file.path.replaceAll('\\', '/')) === path);
      if (!source) {
        errors.push(locator.error(['file'], `${path} was not given with this document: apply its folder, or name the file too`));
        continue;
      }
      documents.push({ kind: 'Function', name: entry.spec.name, spec: entry.spec, file: entry.file, line: entry.line, source });
    } else {
      const { locator } = entry;
      errors.push(...checkProvisioning(entry.spec, locator, refs));
      documents.push({
        kind: 'Directory',
        spec: entry.spec,
        file: entry.file,
        line: entry.line,
        locate: (path, message) => locator.error(path, message),
      });
    }
  }
  errors.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
  return { errors, documents: errors.length > 0 ? [] : documents };
}

/** Directory lookups over what exists plus what Directory documents of this file set declare; all true when unknown. */
function directoryResolver(
  existing: DirectoryNames | undefined,
  parsed: { spec: DefinitionSpec }[],
): Omit<ReferenceResolver, 'hasWebhook' | 'hasAutomation' | 'hasFunction'> {
  if (!existing)
    return {
      hasEntitlement: () => true,
      hasApp: () => true,
      appActions: () => undefined,
      hasAccessProfile: () => true,
      hasCampaignTemplate: () => true,
    };
  const declared = declaredNames(parsed.flatMap((entry) => (entry.spec.kind === 'Directory' ? [entry.spec] : [])));
  const set = (key: Exclude<keyof DirectoryNames, 'appActions'>) => new Set([...existing[key], ...declared[key]]);
  const appActions = new Map([...existing.appActions, ...declared.appActions]);
  const entitlements = set('entitlements');
  const apps = set('apps');
  const profiles = set('accessProfiles');
  const templates = set('campaignTemplates');
  return {
    hasEntitlement: (r) => entitlements.has(r),
    hasApp: (r) => apps.has(r),
    appActions: (r) => appActions.get(r) ?? [],
    hasAccessProfile: (r) => profiles.has(r),
    hasCampaignTemplate: (r) => templates.has(r),
  };
}
