/**
 * Turning untrusted frame text into a typed frame, or into an error a user can act on:
 * `readings[2].value: expected a finite number, got "abc"`.
 */
import type { z } from 'zod';
import { type ClientFrame, clientFrameSchemas, type ServerFrame, serverFrameSchema } from './frames.js';

/** Deepest nesting accepted in a frame (a `payload` included); deeper input is refused unparsed. */
export const MAX_FRAME_DEPTH = 32;

/** Keys that mean something to JavaScript objects; a frame carrying them is refused outright. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type ParseResult<F> =
  | { ok: true; frame: F }
  | { ok: false; error: string /** The frame's `id`, when it had a usable one. */; ref?: string | number };

/** A short, safe rendering of a rejected value for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': {
      const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
      return JSON.stringify(shown);
    }
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'nothing';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** `['readings', 2, 'value']` → `readings[2].value`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

const EXPECTED_WORDS: Record<string, string> = {
  number: 'a finite number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
};

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  const prefix = where ? `${where}: ` : '';
  if (issue.code === 'invalid_type') {
    const expected = EXPECTED_WORDS[issue.expected] ?? issue.expected;
    const got = 'input' in issue ? describeValue(issue.input) : 'nothing';
    return `${prefix}expected ${expected}, got ${got === 'nothing' ? 'nothing (the field is required)' : got}`;
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Report the branch that got furthest; for a timestamp that is usually the string branch.
    const branches = issue.errors
      .map((errs) => errs[0])
      .filter((e): e is z.core.$ZodIssue => e !== undefined);
    const typed = branches.find((e) => e.code !== 'invalid_type');
    if (typed) return describeIssue({ ...typed, path: [...issue.path, ...typed.path] });
    const got = 'input' in issue ? describeValue(issue.input) : 'nothing';
    return `${prefix}expected ${branches.map((b) => (b.code === 'invalid_type' ? (EXPECTED_WORDS[b.expected] ?? b.expected) : '?')).join(' or ')}, got ${got}`;
  }
  return `${prefix}${issue.message}`;
}

/**
 * Walks parsed JSON once to refuse nesting beyond `MAX_FRAME_DEPTH` and prototype-related keys.
 * Iterative, so hostile depth cannot exhaust the stack.
 */
function structureProblem(root: unknown): string | null {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_FRAME_DEPTH) return `frame is nested deeper than ${MAX_FRAME_DEPTH} levels`;
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
    } else {
      for (const key of Object.keys(value)) {
        if (FORBIDDEN_KEYS.has(key)) return `key ${JSON.stringify(key)} is not allowed`;
        stack.push([(value as Record<string, unknown>)[key], depth + 1]);
      }
    }
  }
  return null;
}

function usableRef(value: unknown): string | number | undefined {
  if (typeof value === 'string' && value.length <= 128) return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  return undefined;
}

function parseJsonObject(
  text: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'frame is not valid JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: `frame must be a JSON object, got ${describeValue(value)}` };
  }
  const problem = structureProblem(value);
  if (problem) return { ok: false, error: problem };
  return { ok: true, value: value as Record<string, unknown> };
}

const CLIENT_TYPES = Object.keys(clientFrameSchemas).join(', ');

/** Parses one client → hub frame. Never throws. */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  const json = parseJsonObject(text);
  if (!json.ok) return json;
  const raw = json.value;
  const ref = usableRef(raw.id);
  const withRef = (error: string): ParseResult<ClientFrame> =>
    ref === undefined ? { ok: false, error } : { ok: false, error, ref };
  if (!('type' in raw)) return withRef(`type: required; expected one of ${CLIENT_TYPES}`);
  const type = raw.type;
  if (typeof type !== 'string' || !Object.hasOwn(clientFrameSchemas, type)) {
    return withRef(`type: unknown frame type ${describeValue(type)}; expected one of ${CLIENT_TYPES}`);
  }
  const schema = clientFrameSchemas[type as keyof typeof clientFrameSchemas];
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) return withRef(describeIssue(result.error.issues[0]!));
  return { ok: true, frame: result.data };
}

/** Parses one hub → client frame (for agents and dashboards). Never throws. */
export function parseServerFrame(text: string): ParseResult<ServerFrame> {
  const json = parseJsonObject(text);
  if (!json.ok) return json;
  const result = serverFrameSchema.safeParse(json.value, { reportInput: true });
  if (!result.success) return { ok: false, error: describeIssue(result.error.issues[0]!) };
  return { ok: true, frame: result.data };
}
