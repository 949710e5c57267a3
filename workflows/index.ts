/** Every workflow type the worker registers. */
export { automationRun } from './automation-run.js';
export { forEachUserRun } from './for-each-user.js';
export { personQueue } from './person-queue.js';
