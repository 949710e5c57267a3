/**
 * Stubbed `ctx.fetch` for a function's test cases (`NAME.test.json`): answers from the case's
 * stubs instead of the network, so tests run offline and deterministic. The allowlist still
 * applies, so a test also catches a host missing from `allowedHosts`.
 */
import { NetworkDeniedError } from './errors.js';
import { isHostAllowed, parseHostPattern } from './hosts.js';
import type { GuardedFetch, PlainRequest, PlainResponse } from './fetch.js';
import type { FetchStub } from '../types.js';

export function createStubFetch(
  stubs: readonly FetchStub[],
  allowHosts: readonly string[],
  onDenied: (line: string) => void,
): GuardedFetch {
  const patterns = allowHosts.map(parseHostPattern);
  let requestCount = 0;
  const deny = (line: string): never => {
    onDenied(`NETWORK_DENIED ${line}`);
    throw new NetworkDeniedError(line);
  };
  return {
    get requestCount() {
      return requestCount;
    },
    async fetch(request: PlainRequest): Promise<PlainResponse> {
      requestCount++;
      const method = (request.method ?? 'GET').toUpperCase();
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return deny(`${method} ${request.url}: not a URL`);
      }
      if (!isHostAllowed(patterns, url)) deny(`${method} ${url.origin}: ${url.host} is not in allowedHosts`);
      const stub = stubs.find((candidate) => (candidate.method ?? 'GET').toUpperCase() === method && candidate.url === url.href);
      if (!stub) return deny(`${method} ${url.href}: no stubbed response in this test case (add one under "fetch")`);
      const body = typeof stub.body === 'string' ? stub.body : stub.body === undefined ? '' : JSON.stringify(stub.body);
      const headers = Object.entries({
        ...(typeof stub.body === 'string' || stub.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...stub.headers,
      });
      const status = stub.status ?? 200;
      return { url: url.href, status, statusText: '', headers, body, redirected: false };
    },
  };
}
