/** What /proc says about another process: the benches' memory and CPU figures (Linux). */
import { readFile } from 'node:fs/promises';

/** The process's peak (VmHWM) or current (VmRSS) resident memory, in MB. */
export async function processMemoryMb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
}

/** CPU ms a process has used (user + system), from its stat (clock ticks of 10 ms). */
export async function processCpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
