/**
 * The IPC messages between the pool (parent, pool.ts) and a sandbox process (child.ts).
 * Everything is JSON: values a function sees or produces travel as JSON text, never as objects.
 */
import type { DirectoryMethod, FetchStub, FunctionError, FunctionLimits } from '../types.js';

/** Parent → child. */
export type ParentMessage = RunMessage | DirectoryReplyMessage;

export interface RunMessage {
  type: 'run';
  callId: number;
  /** The function's bundled code; sent with the first call a process gets (a process runs one hash only). */
  code?: string;
  hash: string;
  inputJson: string;
  /** "null" when there is no trigger. */
  triggerJson: string;
  idempotencyKey: string;
  secrets: [string, string][];
  limits: FunctionLimits;
  timeoutMs: number;
  allowHosts: string[];
  allowPrivateNetworks: string[];
  /** Present in test mode: fetch answers from these, never from the network. */
  fetchStubs?: FetchStub[];
  hasDirectory: boolean;
}

export interface DirectoryReplyMessage {
  type: 'directory-reply';
  callId: number;
  requestId: number;
  /** JSON text of the result, or an error. */
  json?: string;
  error?: FunctionError;
}

/** Child → parent. */
export type ChildMessage = ReadyMessage | LogMessage | DirectoryRequestMessage | ResultMessage | IdleMessage;

export interface ReadyMessage {
  type: 'ready';
}

export interface LogMessage {
  type: 'log';
  callId: number;
  line: string;
}

export interface DirectoryRequestMessage {
  type: 'directory';
  callId: number;
  requestId: number;
  method: DirectoryMethod;
  args: string[];
}

export interface ResultMessage {
  type: 'result';
  callId: number;
  /** JSON text of the output when the function succeeded. */
  outputJson?: string;
  error?: FunctionError;
}

/** The process finished everything the call started (its microtasks drained) and can take the next one. */
export interface IdleMessage {
  type: 'idle';
  callId: number;
}
