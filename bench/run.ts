/**
 * `npm run bench`: every benchmark, one after the other, printing its figures. Benchmarks are
 * not tests: they gate nothing, and their targets are read by people.
 */
import { benchApply, describeApply } from './apply.js';
import { benchConsole, describeConsole } from './console.js';
import { runCelBench } from './cel.js';
import { benchDirectoryImport } from './directory.js';
import { benchEngine, benchMatch, describeEngine, describeMatch } from './engine.js';
import { benchFanOut, describeFanOut } from './fan-out.js';
import { benchFunctions, describeFunctions } from './functions.js';
import { benchPlans, describePlans } from './plan.js';
import { benchProvisioning, describeProvisioning } from './provisioning.js';
import { benchReplay, describeReplay } from './replay.js';
import { benchRunsList, describeRunsList } from './runs-list.js';
import { benchStores, describeStores } from './stores.js';
import { benchTemporalPragmas, describeTemporalPragmas } from './temporal-pragmas.js';
import { benchWorkerMemory, describeWorkerMemory } from './worker-memory.js';

async function main(): Promise<void> {
  console.log('== CEL');
  await runCelBench();
  console.log('\n== trigger matching');
  console.log(describeMatch(benchMatch()));
  console.log('\n== apply');
  console.log(describeApply(await benchApply()));
  console.log('\n== replay');
  console.log(describeReplay(await benchReplay()));
  console.log("\n== the console's runs page");
  console.log(describeRunsList(await benchRunsList()));
  console.log('\n== the web console in Chromium');
  console.log(describeConsole(await benchConsole()));
  console.log('\n== HR import');
  const imported = await benchDirectoryImport();
  console.log(
    `import a ${imported.people}-person feed with ${imported.changes} changes: ${(imported.importMs / 1000).toFixed(2)} s, ${imported.events} events emitted (must equal the changes), peak RSS ${imported.peakRssMb.toFixed(0)} MB (targets < 10 s, < 300 MB)`,
  );
  console.log('\n== plans');
  console.log(describePlans(await benchPlans()));
  console.log('\n== outbound provisioning over SCIM');
  console.log(describeProvisioning(await benchProvisioning()));
  console.log('\n== functions sandbox');
  console.log(describeFunctions(await benchFunctions()));
  console.log('\n== Temporal dev server SQLite pragmas');
  console.log(describeTemporalPragmas(await benchTemporalPragmas()));
  console.log('\n== engine on a real Temporal dev server');
  console.log(describeEngine(await benchEngine()));
  console.log('\n== the PostgreSQL store beside the SQLite store');
  console.log(describeStores(await benchStores()));
  console.log('\n== forEachUser fan-out');
  console.log(describeFanOut(await benchFanOut()));
  console.log('\n== worker memory');
  console.log(describeWorkerMemory(await benchWorkerMemory()));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
