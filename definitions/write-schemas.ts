/** Writes the definition JSON Schemas (`idflow schema --out DIR`, and `npm run schema`). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { definitionJsonSchemas } from './schema.js';

export async function writeDefinitionSchemas(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [file, schema] of Object.entries(definitionJsonSchemas())) {
    const path = join(outDir, file);
    await writeFile(path, `${JSON.stringify(schema, null, 2)}\n`);
    written.push(path);
  }
  return written;
}
