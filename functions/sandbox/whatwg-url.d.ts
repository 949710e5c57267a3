/** The two exports of whatwg-url that functions/sandbox/url.ts installs (the package ships no types). */
declare module 'whatwg-url' {
  export const URL: unknown;
  export const URLSearchParams: unknown;
}
