/**
 * The built web console, served from the directory the composition root gives (console/dist):
 * its files under /assets/ (content-hashed names: cached for a year, immutable) and index.html
 * for every other GET that is not an API path, so the app's own routes (/runs/abc) load it. It
 * answers what no route matched (the not-found handler): no route per file, nothing in the API's
 * route table or OpenAPI document. Its pages may load only idflow's own files.
 */
import send from '@fastify/send';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** On the console's files and on the sign-in pages: no inline script, no framing, no referrer (a sign-in link is a credential). */
export const CONSOLE_SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

/**
 * Paths the API owns: what matches no route under them is the API's JSON 404, never index.html.
 * One ending in `/` owns only what is under it: `/approvals` itself is the console's page, the
 * approvers' decision pages are under `/approvals/`.
 */
const API_PATHS = ['/v1', '/scim', '/approvals/', '/metrics', '/healthz', '/openapi.json', '/console/signin'];
/** An asset's path: segments of word characters, dots and dashes, none starting with a dot (no `..`, no dotfiles). */
const ASSET_PATH = /^\/assets\/(?:[\w-][\w.-]*\/)*[\w-][\w.-]*$/;
const YEAR_MS = 365 * 24 * 3_600_000;

type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown;

/** A not-found handler that serves the console from `dir`, and leaves to `notFound` what is not the console's. */
export function consoleFiles(dir: string, notFound: Handler): Handler {
  return async (request, reply) => {
    const path = request.url.split('?', 1)[0];
    const apiPath = API_PATHS.some((prefix) =>
      prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix || path.startsWith(`${prefix}/`),
    );
    if ((request.method !== 'GET' && request.method !== 'HEAD') || apiPath) return notFound(request, reply);
    const asset = path.startsWith('/assets/');
    if (asset && !ASSET_PATH.test(path)) return notFound(request, reply);
    const file = await send(
      request.raw,
      asset ? path : '/index.html',
      // index.html is checked on every load (it names the current build's assets); an asset's name changes with its content.
      asset ? { root: dir, maxAge: YEAR_MS, immutable: true, index: false } : { root: dir, cacheControl: false, index: false },
    );
    // Other refusals (a range past the end, a failed precondition) go out as send made them.
    if (file.type === 'directory' || (file.type === 'error' && file.statusCode === 404)) {
      if (asset) return notFound(request, reply);
      throw new ApiError('UNAVAILABLE', 'the console is not built: npm install builds it, as does the next start of idflow');
    }
    return reply
      .status(file.statusCode)
      .headers({ ...file.headers, ...CONSOLE_SECURITY_HEADERS, ...(asset ? {} : { 'cache-control': 'no-cache' }) })
      .send(file.stream);
  };
}
