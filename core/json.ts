/** JSON as it crosses every boundary of idflow: events, step inputs and outputs, the store, the sandbox. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };
