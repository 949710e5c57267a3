/** Types of scripts/postgres.js (plain JavaScript, as scripts/test.js that runs before any build). */
export interface ThrowawayPostgres {
  /** A superuser on the `postgres` database: may CREATE DATABASE. */
  url: string;
  dir: string;
  startedInMs: number;
  /** Stops the server and deletes its directory (synchronous, for exit handlers). */
  stop(): void;
}

export function findPostgresBin(): string | undefined;
export function startPostgres(options?: { durable?: boolean }): Promise<ThrowawayPostgres>;
