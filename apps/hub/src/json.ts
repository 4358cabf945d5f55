/** Any value JSON can carry; message payloads are opaque JSON to the hub. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
