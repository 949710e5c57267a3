#!/usr/bin/env node
// The idflow CLI. Runs the TypeScript sources through tsx: no build step between a clone and use.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
