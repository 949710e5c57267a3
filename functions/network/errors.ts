/** The two ways a guarded fetch fails, and how a request is named in their messages. */

/** A request the policy forbids (scheme, host, internal address, method). */
export class NetworkDeniedError extends Error {
  readonly code = 'NETWORK_DENIED';
  override readonly name = 'NetworkDeniedError';
}

/** Any other failure (timeout, connection refused, too large): the message says what and which URL. */
export class NetworkError extends Error {
  readonly code = 'NETWORK_ERROR';
  override readonly name = 'NetworkError';
}

const MAX_URL_LENGTH = 200;

/**
 * "GET https://api.example.com/users": no userinfo, query or fragment, which may hold tokens,
 * and no more than 200 characters of URL (a data: URL can be megabytes).
 */
export function requestLabel(method: string, url: URL): string {
  const authority = url.host === '' ? '' : `//${url.host}`;
  const text = `${url.protocol}${authority}${url.pathname}`;
  return `${method} ${text.length > MAX_URL_LENGTH ? `${text.slice(0, MAX_URL_LENGTH)}…` : text}`;
}
