/**
 * The activity behind `forEachUser`: pages through the directory in id order and keeps the users
 * the automation's CEL selects. It runs in the worker (not the workflow) because it reads the
 * store; the workflow only ever sees one page of matches at a time, so history stays small.
 */
import type { DirectoryOps } from '../directory/repository.js';
import type { JsonObject } from '../core/json.js';
import { ApplicationFailure } from '@temporalio/activity';
import { CelError, compileCondition, evaluateCondition, type CheckedExpression } from '../cel/index.js';
import { perUserData, triggerVariables } from '../triggers/events.js';
import type { SelectUsersRequest, SelectUsersResult } from './contracts.js';

/** Users read from the store per query while scanning for matches. */
const SCAN_CHUNK = 500;
/** Evaluation errors reported per page; the rest are counted. */
const MAX_REPORTED_ERRORS = 20;

export function createFanOutActivities(directory: DirectoryOps): { selectUsers(request: SelectUsersRequest): Promise<SelectUsersResult> } {
  const compiled = new Map<string, CheckedExpression>();
  const compileOnce = (expression: string): CheckedExpression => {
    let program = compiled.get(expression);
    if (!program) compiled.set(expression, (program = compileCondition(expression)));
    return program;
  };

  return {
    async selectUsers(request) {
      let program: CheckedExpression;
      try {
        program = compileOnce(request.expression);
      } catch (error) {
        // Validated at apply, so only a spec stored by an older idflow gets here: no retry helps.
        if (error instanceof CelError) throw ApplicationFailure.nonRetryable(`forEachUser: ${error.message}`, 'INVALID_FOR_EACH_USER');
        throw error;
      }
      const now = new Date(request.tick.scheduledTime as string);
      const result: SelectUsersResult = { users: [], scanned: 0, errorCount: 0, errors: [] };
      let afterId = request.afterId;
      for (;;) {
        const chunk = await directory.listUsers({ afterId, limit: SCAN_CHUNK });
        for (const user of chunk) {
          afterId = user.id;
          result.scanned++;
          const vars = triggerVariables(perUserData(request.tick, user as unknown as JsonObject));
          try {
            if (evaluateCondition(program, vars, { now })) result.users.push(user as unknown as JsonObject);
          } catch (error) {
            if (!(error instanceof CelError)) throw error;
            // One user's odd data must not stop the tick for everyone: skip them, and say so.
            result.errorCount++;
            if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push({ userId: user.id, message: error.message });
          }
          if (result.users.length === request.limit) return { ...result, nextAfterId: afterId };
        }
        if (chunk.length < SCAN_CHUNK) return result;
      }
    },
  };
}
