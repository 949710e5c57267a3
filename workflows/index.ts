/** Every workflow type the worker registers. */
export { automationRun } from './automation-run.js';
export { forEachUserRun } from './for-each-user.js';
