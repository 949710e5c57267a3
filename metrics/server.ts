/**
 * The worker's metrics endpoint (`idflow worker --metrics-port`): `GET /metrics` serves idflow's
 * registry followed by the Temporal SDK's own metrics, which the SDK's exporter serves on a
 * loopback port of its own; one port to scrape per worker. Nothing else is served.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectProcessMetrics, EXPOSITION_CONTENT_TYPE, exposition, metricsRegistry } from './registry.js';

/** The SDK's exporter answers from memory; a scrape does not wait longer for it. */
const SDK_SCRAPE_TIMEOUT_MS = 2000;

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** The SDK's exposition, or a comment saying why it is missing (idflow's own metrics are served either way). */
async function sdkMetrics(sdkUrl: string): Promise<string> {
  try {
    const response = await fetch(sdkUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    if (!response.ok) return `# Temporal SDK metrics unavailable: HTTP ${response.status}\n`;
    return await response.text();
  } catch (error) {
    return `# Temporal SDK metrics unavailable: ${error instanceof Error ? error.message : String(error)}\n`;
  }
}

/** Listens on host:port (0: any free port); `sdkUrl` is the SDK exporter's /metrics. */
export async function startMetricsServer(options: { host: string; port: number; sdkUrl?: string }): Promise<MetricsServer> {
  collectProcessMetrics();
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    Promise.all([exposition([metricsRegistry]), options.sdkUrl === undefined ? '' : sdkMetrics(options.sdkUrl)]).then(
      ([own, sdk]) => response.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE }).end(own + sdk),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException): void =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`the metrics port ${options.host}:${options.port} is already in use: choose another with --metrics-port`)
          : error,
      );
    server.once('error', refuse);
    server.listen(options.port, options.host, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's kept-alive connection would hold close() until it idles out.
        server.closeAllConnections();
      }),
  };
}
