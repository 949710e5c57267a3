/** A real HTTP server on loopback that records what it receives and answers from a script. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (the client times out). */
  hang?: boolean;
  /** Answer only once this settles: the request stays in flight until the test lets it go. */
  hold?: Promise<unknown>;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Responses for the next requests, in order; afterwards 200 {"ok":true}. */
  script(...responses: ScriptedResponse[]): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const next = queue.shift() ?? { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } };
      if (next.hang) return;
      const answer = (): void => {
        if (response.destroyed) return; // the client went away (a killed worker) while it was held
        response.writeHead(next.status, next.headers ?? { 'content-type': 'application/json' });
        response.end(next.body ?? '');
      };
      if (next.hold) void next.hold.then(answer, answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...responses) => queue.push(...responses),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
