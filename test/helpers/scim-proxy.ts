/**
 * A loopback HTTP proxy in front of an app (scim2-server): it forwards every request and its
 * answer, keeps a log, and on request answers some requests itself (a 503, a 400 with a SCIM
 * error) or holds one in flight until the test lets it through — forwarded then even if the
 * client is gone, as an app finishes a request whose client died.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
  /** What the client was answered; undefined while held. */
  status?: number;
}

type Match = (request: ProxiedRequest) => boolean;

export interface ScimProxy {
  url: string;
  requests: ProxiedRequest[];
  /** The next `times` requests that match are answered with this, never reaching the app. */
  answer(match: Match, response: { status: number; body?: object; headers?: Record<string, string> }, times?: number): void;
  /** The next request that matches is held; `arrived` resolves when it is, `release()` forwards it. */
  hold(match: Match): { arrived: Promise<ProxiedRequest>; release(): void };
  close(): Promise<void>;
}

const read = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

export async function startScimProxy(target: string): Promise<ScimProxy> {
  const requests: ProxiedRequest[] = [];
  const answers: { match: Match; response: { status: number; body?: object; headers?: Record<string, string> }; times: number }[] = [];
  const holds: { match: Match; arrived: (request: ProxiedRequest) => void; released: Promise<void> }[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const entry: ProxiedRequest = { method: request.method ?? 'GET', path: request.url ?? '/', body: await read(request) };
      requests.push(entry);
      const scripted = answers.find((answer) => answer.times > 0 && answer.match(entry));
      if (scripted) {
        scripted.times--;
        entry.status = scripted.response.status;
        response.writeHead(scripted.response.status, { 'content-type': 'application/scim+json', ...scripted.response.headers });
        response.end(scripted.response.body === undefined ? '' : JSON.stringify(scripted.response.body));
        return;
      }
      const held = holds.findIndex((hold) => hold.match(entry));
      if (held >= 0) {
        const [hold] = holds.splice(held, 1);
        hold?.arrived(entry);
        await hold?.released;
      }
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'accept', 'if-match'])
        if (typeof request.headers[name] === 'string') headers[name] = request.headers[name];
      const forwarded = await fetch(`${target}${entry.path}`, {
        method: entry.method,
        headers,
        body: entry.body.length > 0 ? entry.body : undefined,
      });
      const body = await forwarded.text();
      entry.status = forwarded.status;
      if (response.destroyed) return; // the client went away (a killed worker) while the request was held
      const answerHeaders: Record<string, string> = {};
      for (const name of ['content-type', 'etag', 'location', 'retry-after']) {
        const value = forwarded.headers.get(name);
        if (value !== null) answerHeaders[name] = value;
      }
      response.writeHead(forwarded.status, answerHeaders);
      response.end(body);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (match, response, times = 1) => answers.push({ match, response, times }),
    hold(match) {
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let arrived: (request: ProxiedRequest) => void = () => undefined;
      const arrival = new Promise<ProxiedRequest>((resolve) => (arrived = resolve));
      holds.push({ match, arrived, released });
      return { arrived: arrival, release };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
