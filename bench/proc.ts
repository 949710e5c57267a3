/** What /proc says about another process: the benches' memory and CPU figures (Linux). */
import { readdir, readFile } from 'node:fs/promises';

/** The process's peak (VmHWM) or current (VmRSS) resident memory, in MB. */
export async function processMemoryMb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
}

/** The fields of /proc/PID/stat after the command; [0] is field 3 (state), [1] the parent's pid. */
async function statFields(pid: number | string): Promise<string[]> {
  return (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
}

/** CPU ms a process has used (user + system), from its stat (clock ticks of 10 ms). */
export async function processCpuMs(pid: number): Promise<number> {
  const fields = await statFields(pid);
  // utime and stime are fields 14 and 15 of stat.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * CPU ms of a process and its children (a PostgreSQL postmaster and its backends): its own, its
 * exited children's (cutime, cstime) and its live children's.
 */
export async function processTreeCpuMs(pid: number): Promise<number> {
  const own = await statFields(pid);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(entry).catch(() => undefined);
    if (fields?.[1] === String(pid)) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10;
}
