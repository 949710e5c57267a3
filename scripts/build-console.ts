// `npm install`'s postinstall: builds the web console (console/build.ts) into console/dist, replacing
// the previous build whole (app/console-build.ts). idflow builds it again at start when it is missing
// or older than its sources, so a build that fails here is reported and does not fail the install.
import { buildConsoleDist } from '../app/console-build.js';

const started = Date.now();
try {
  const files = await buildConsoleDist();
  console.log(`idflow: built the web console (${files.length} files, ${Date.now() - started} ms)`);
} catch (error) {
  console.warn(`idflow: the web console could not be built now (idflow tries again at start): ${(error as Error).message}`);
}
