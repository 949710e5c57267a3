/** Argument helpers shared by commands. */
import type { JsonObject } from '../core/json.js';
import { readFile } from 'node:fs/promises';
import { CliError } from './output.js';

/** A JSON object given inline or as @FILE; `what` names the option in errors. */
export async function jsonObjectArg(value: string | undefined, what: string): Promise<JsonObject> {
  if (value === undefined) return {};
  let text = value;
  if (value.startsWith('@')) {
    text = await readFile(value.slice(1), 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`${what}: cannot read ${value.slice(1)} (${error.code ?? error.message})`);
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${what}: not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError(`${what}: expected a JSON object`);
  return parsed as JsonObject;
}

export function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new CliError(`"${value}" is not a positive whole number`);
  return parsed;
}

/** A secret's value from stdin, without its trailing newline; never from an argument (shell history). `command` is the command that reads it. */
export async function readSecretValue(command: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('value (then Enter and Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const value = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!value) throw new CliError(`no value on stdin: pipe it in, e.g. \`printf %s "$TOKEN" | ${command}\``, 2);
  return value;
}
