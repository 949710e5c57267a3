/**
 * The processes of the chaos run: `idflow api` and `idflow worker` as separate OS processes
 * (bin/idflow.js) sharing one store and one Temporal namespace, each of which can be SIGKILLed
 * and started again in its place (an API on the same port, so clients keep their address).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

const BIN = fileURLToPath(new URL('../../bin/idflow.js', import.meta.url));
/** Starting takes seconds on a busy machine (tsx compiles the sources); far more means it is stuck. */
const START_TIMEOUT_MS = 120_000;

/** Where idflow keeps its state: PostgreSQL by URL, else the SQLite file in the data dir. */
export interface ProcessStore {
  dataDir: string;
  databaseUrl?: string;
}

export interface ClusterOptions {
  store: ProcessStore;
  temporalAddress: string;
  namespace: string;
  /** Extra environment of every process (the workers' SMTP, Slack and webhook settings). */
  env: NodeJS.ProcessEnv;
}

export class IdflowProcess {
  #child: ChildProcess | undefined;
  #ready = false;
  #output: string[] = [];
  #stopping = false;
  /** Exits nobody asked for (a crash): each a problem of the run. */
  readonly unexpectedExits: string[] = [];

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly readyLine: string,
    private readonly options: ClusterOptions,
  ) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** The last lines it printed, for a failure message. */
  get output(): string {
    return this.#output.join('').slice(-4000);
  }

  async start(): Promise<void> {
    const { store } = this.options;
    const child = spawn(process.execPath, [BIN, ...this.args, '--data-dir', store.dataDir], {
      env: {
        ...process.env,
        ...this.options.env,
        TEMPORAL_ADDRESS: this.options.temporalAddress,
        TEMPORAL_NAMESPACE: this.options.namespace,
        IDFLOW_DATABASE_URL: store.databaseUrl ?? '', // empty: the data dir's SQLite file, whatever the caller's environment says
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#output = [];
    this.#ready = false;
    this.#stopping = false;
    child.once('exit', (code, signal) => {
      if (!this.#stopping) this.unexpectedExits.push(`${this.name} exited on its own (${signal ?? code}):\n${this.output}`);
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name} did not start in ${START_TIMEOUT_MS / 1000} s:\n${this.output}`)),
        START_TIMEOUT_MS,
      );
      const collect = (chunk: Buffer): void => {
        this.#output.push(chunk.toString());
        if (this.#output.length > 200) this.#output.splice(0, 100);
        if (!this.#ready && chunk.toString().includes(this.readyLine)) {
          this.#ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${signal ?? code}) before it was ready:\n${this.output}`));
      });
    });
    await ready;
  }

  /** SIGKILL: no shutdown hook runs, in-flight work is cut off. */
  kill(): Promise<void> {
    return this.#signal('SIGKILL');
  }

  /** SIGTERM, for the end of the run: stops cleanly (killed after 30 s). */
  stop(): Promise<void> {
    return this.#signal('SIGTERM');
  }

  /** For an exit handler: no waiting. */
  killNow(): void {
    this.#stopping = true;
    this.#child?.kill('SIGKILL');
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    this.#ready = false;
    this.#stopping = true;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface Cluster {
  apis: (IdflowProcess & { url: string })[];
  workers: IdflowProcess[];
  all: IdflowProcess[];
  stop(): Promise<void>;
}

/**
 * A free port below the kernel's ephemeral range (32768–60999 on Linux): an API is restarted on its
 * port after each kill, and while it is down an ephemeral port could be handed to any process of
 * the suite (a Temporal dev server's metrics took one once), so its port is taken from outside it.
 */
async function portOutsideEphemeralRange(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

/** Starts `apis` API processes (each on a fixed free port) and `workers` worker processes. */
export async function startCluster(options: ClusterOptions & { apis: number; workers: number }): Promise<Cluster> {
  const apis = await Promise.all(
    Array.from({ length: options.apis }, async (_, i) => {
      const port = await portOutsideEphemeralRange();
      return Object.assign(new IdflowProcess(`api-${i + 1}`, ['api', '--port', String(port)], 'API listening on', options), {
        url: `http://127.0.0.1:${port}`,
      });
    }),
  );
  const workers = Array.from(
    { length: options.workers },
    (_, i) => new IdflowProcess(`worker-${i + 1}`, ['worker'], 'worker ready', options),
  );
  const all = [...apis, ...workers];
  // Should the run itself crash, its processes must not live on (their stdio pipes do not end them).
  const killAll = (): void => all.forEach((p) => p.killNow());
  process.once('exit', killAll);
  const cluster = {
    apis,
    workers,
    all,
    async stop() {
      await Promise.all(all.map((p) => p.stop()));
      process.off('exit', killAll);
    },
  };
  try {
    // One at a time: the first migrates the store, and two cold tsx compilations at once only slow each other.
    for (const process of all) await process.start();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
