/**
 * docs/protocol.md cannot drift from the code: every JSON example in it parses with the protocol's
 * schemas, and everything the schemas define (frame types and their fields, error codes, history
 * parameters) and every close code the hub uses appears in it. A frame type added to the schemas
 * without documentation fails here, naming the type.
 */
import { readFileSync } from 'node:fs';
import {
  BATCH_SUBPROTOCOL,
  clientFrameSchemas,
  commandListSchema,
  errorCodeSchema,
  historyQuerySchema,
  historyResponseSchema,
  latestResponseSchema,
  pageViewersSchema,
  parseClientFrame,
  parseServerFrame,
  presenceSchema,
  serverBatchSchema,
  serverFrameSchema,
  unitSchema,
} from '@edgewire/protocol';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CloseCode } from '../src/connections/close-codes.js';

const DOC = 'docs/protocol.md';
const doc = readFileSync(new URL(`../../../${DOC}`, import.meta.url), 'utf8');

/** Fenced ```json <kind> blocks, in order. */
const examples = [...doc.matchAll(/^```json ([a-z-]+)\n([\s\S]*?)^```$/gm)].map((m) => ({
  kind: m[1]!,
  text: m[2]!,
}));

/** What each kind of example must parse as: a frame parser, or a schema. */
const checkers: Record<string, (text: string) => string | undefined> = {
  'client-frame': (text) => {
    const parsed = parseClientFrame(text);
    return parsed.ok ? undefined : parsed.error;
  },
  'server-frame': (text) => {
    const parsed = parseServerFrame(text);
    return parsed.ok ? undefined : parsed.error;
  },
  'server-batch': (text) => schemaProblem(serverBatchSchema, text),
  presence: (text) => schemaProblem(presenceSchema, text),
  viewers: (text) => schemaProblem(pageViewersSchema, text),
  'command-list': (text) => schemaProblem(commandListSchema, text),
  'history-response': (text) => schemaProblem(historyResponseSchema, text),
  'latest-response': (text) => schemaProblem(latestResponseSchema, text),
};

function schemaProblem(schema: z.ZodType, text: string): string | undefined {
  const result = schema.safeParse(JSON.parse(text));
  return result.success
    ? undefined
    : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

const clientTypes = Object.keys(clientFrameSchemas);
const serverTypes = serverFrameSchema.options.map((option) => option.shape.type.value);
/** Each frame type with the fields its schema defines. */
const frameFields: Array<[type: string, fields: string[]]> = [
  ...Object.entries(clientFrameSchemas).map(([type, schema]): [string, string[]] => [
    type,
    Object.keys(schema.shape),
  ]),
  ...serverFrameSchema.options.map((schema): [string, string[]] => [
    schema.shape.type.value,
    Object.keys(schema.shape),
  ]),
];
const exampleTypes = new Set(
  examples.filter((e) => e.kind.endsWith('-frame')).map((e) => (JSON.parse(e.text) as { type: string }).type),
);
/** The text between a heading and the next one of the same or a higher level. */
function section(heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${DOC} has no "${heading}" section`);
  const level = heading.split(' ')[0]!;
  const rest = doc.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level.length}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}
const documents = (text: string, name: string | number) => text.includes(`\`${name}\``);
/** A field is documented as `name`, or `name?` when optional. */
const documentsField = (text: string, name: string) => documents(text, name) || documents(text, `${name}?`);

it('has examples, and every one of them is valid', () => {
  expect(examples.length).toBeGreaterThan(10);
  for (const { kind, text } of examples) {
    const check = checkers[kind];
    expect(check, `${DOC}: unknown example kind "json ${kind}"`).toBeDefined();
    expect(check!(text), `${DOC}: this ${kind} example is invalid:\n${text}`).toBeUndefined();
  }
});

describe('documents every frame type, with an example and all its fields', () => {
  it.each(clientTypes)('client frame %s', (type) => {
    const table = section('### Client → hub');
    expect(documents(table, type), `${DOC} does not document the client frame type "${type}"`).toBe(true);
    expect(exampleTypes.has(type), `${DOC} has no json client-frame example of "${type}"`).toBe(true);
  });
  it.each(serverTypes)('server frame %s', (type) => {
    const table = section('### Hub → client');
    expect(documents(table, type), `${DOC} does not document the server frame type "${type}"`).toBe(true);
    expect(exampleTypes.has(type), `${DOC} has no json server-frame example of "${type}"`).toBe(true);
  });
  it.each(frameFields)('fields of %s', (type, fields) => {
    const frames = section('## Frames');
    const missing = fields.filter((field) => !documentsField(frames, field));
    expect(missing, `${DOC} does not document these fields of "${type}" frames`).toEqual([]);
  });
});

it('documents the batched frames subprotocol by its name', () => {
  expect(documents(section('### Batched frames'), BATCH_SUBPROTOCOL)).toBe(true);
  expect(examples.some((e) => e.kind === 'server-batch')).toBe(true);
});

it('documents every error code', () => {
  const missing = errorCodeSchema.options.filter((code) => !documents(section('### Error codes'), code));
  expect(missing, `${DOC} does not document these error codes`).toEqual([]);
});

it('documents every close code the hub uses', () => {
  const missing = Object.values(CloseCode).filter((code) => !documents(section('## Close codes'), code));
  expect(missing, `${DOC} does not document these close codes`).toEqual([]);
});

it('documents every history API parameter', () => {
  const missing = Object.keys(historyQuerySchema.shape).filter(
    (p) => !documents(section('## History API'), p),
  );
  expect(missing, `${DOC} does not document these history parameters`).toEqual([]);
});

it('documents the reserved topics', () => {
  const topics = section('## Topics');
  for (const reserved of [
    'devices/{deviceId}/telemetry/{metric}',
    'devices/{deviceId}/status',
    'devices/{deviceId}/cmd/{name}',
    '$viewers/devices/{deviceId}',
    'devices/{deviceId}/cmd-list',
  ]) {
    expect(documents(topics, reserved), `${DOC} does not document the reserved topic ${reserved}`).toBe(true);
  }
});

it('documents the unit rule with examples the schema agrees with', () => {
  const examplesAfter = (label: string) => {
    const line = doc.match(new RegExp(`^- ${label}: (.*)\\.$`, 'm'))?.[1];
    expect(line, `${DOC} has no "${label}:" line`).toBeDefined();
    // `a\nb` in the doc stands for a unit with a line break in it.
    return [...line!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replaceAll('\\n', '\n'));
  };
  const accepted = examplesAfter('Units accepted');
  const refused = examplesAfter('Units refused');
  expect(accepted.length).toBeGreaterThan(3);
  expect(refused).toContain('a\nb');
  for (const unit of accepted) expect(unitSchema.safeParse(unit).success, `unit ${unit}`).toBe(true);
  for (const unit of refused)
    expect(unitSchema.safeParse(unit).success, `unit ${JSON.stringify(unit)}`).toBe(false);
});
