/** Sizes as operators write them (`512kb`, `1mb`, `1.5gb`, `1048576`): binary units, for body limits. */

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Bytes of a size such as "64mb"; throws an Error that quotes the value when it is not one. */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  const bytes = match ? Math.floor(Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] as number)) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new Error(`"${text}" is not a size: write e.g. 512kb, 1mb or 64mb`);
  return bytes;
}

/** "64 MiB", "512 KiB", "100 bytes": the largest unit that divides evenly, else one decimal. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) return `${Number.isInteger(bytes / size) ? bytes / size : (bytes / size).toFixed(1)} ${unit}`;
  }
  return `${bytes} bytes`;
}
