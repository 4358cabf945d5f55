/**
 * Every frame of SPEC "Frames", in both directions. Types are inferred from the schemas so that the
 * hub, the agent and the dashboard cannot drift apart.
 */
import { z } from 'zod';
import { filterSchema, nameSchema, permissionSchema, topicSchema, unitSchema } from './identity.js';

/** Readings in one telemetry frame; an agent sends larger backlogs as several frames. */
export const MAX_READINGS_PER_FRAME = 5000;
/** Filters in one sub/unsub frame. */
export const MAX_FILTERS_PER_FRAME = 100;

const correlationId = z.union([z.string().max(128), z.number().int()]);

const filterList = z.array(filterSchema).min(1).max(MAX_FILTERS_PER_FRAME);

/** Epoch milliseconds between 1970 and 2200; generous, but it rejects seconds sent as milliseconds' twin. */
const MAX_EPOCH_MS = 7_258_118_400_000;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A timestamp as epoch ms or ISO-8601 text, normalised to epoch ms. */
export const timestampSchema = z.union([
  z.number().int().min(0).max(MAX_EPOCH_MS),
  z
    .string()
    .regex(ISO_8601, 'expected an ISO-8601 date-time with a zone, like 2026-01-31T12:00:00Z')
    .transform((text, ctx) => {
      const ms = Date.parse(text);
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: 'custom', message: `not a real date-time: ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return ms;
    }),
]);

export const readingSchema = z.object({
  metric: nameSchema,
  value: z.number(),
  ts: timestampSchema,
  unit: unitSchema.optional(),
});
export type Reading = z.output<typeof readingSchema>;

/**
 * Where a message stands in its topic's history (SPEC "Recovery of missed messages"): `offset` rises by one
 * per message of the history, and a new `epoch` starts whenever the hub lost that history.
 */
export const streamPositionSchema = z.object({
  epoch: z.string().min(1).max(64),
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type StreamPosition = z.output<typeof streamPositionSchema>;

export const subFrameSchema = z
  .object({
    type: z.literal('sub'),
    id: correlationId.optional(),
    filters: filterList,
    /** The last position the client saw, per filter: the hub replays what came after, then goes live. */
    since: z.record(z.string(), streamPositionSchema).optional(),
  })
  .superRefine((frame, ctx) => {
    for (const filter of Object.keys(frame.since ?? {})) {
      if (!frame.filters.includes(filter)) {
        ctx.addIssue({ code: 'custom', path: ['since', filter], message: "not one of the frame's filters" });
      }
    }
  });
export const unsubFrameSchema = z.object({
  type: z.literal('unsub'),
  id: correlationId.optional(),
  filters: filterList,
});
export const pubFrameSchema = z.object({
  type: z.literal('pub'),
  id: correlationId.optional(),
  topic: topicSchema,
  payload: z.json(),
  retain: z.boolean().optional(),
});
export const telemetryFrameSchema = z.object({
  type: z.literal('telemetry'),
  id: correlationId.optional(),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  readings: z.array(readingSchema).min(1).max(MAX_READINGS_PER_FRAME),
});

export const clientFrameSchemas = {
  sub: subFrameSchema,
  unsub: unsubFrameSchema,
  pub: pubFrameSchema,
  telemetry: telemetryFrameSchema,
} as const;

export type SubFrame = z.output<typeof subFrameSchema>;
export type UnsubFrame = z.output<typeof unsubFrameSchema>;
export type PubFrame = z.output<typeof pubFrameSchema>;
export type TelemetryFrame = z.output<typeof telemetryFrameSchema>;
/** A telemetry frame as an agent writes it (timestamps may still be ISO text). */
export type TelemetryFrameInput = z.input<typeof telemetryFrameSchema>;
export type ClientFrame = SubFrame | UnsubFrame | PubFrame | TelemetryFrame;
export type ClientFrameType = keyof typeof clientFrameSchemas;

export const errorCodeSchema = z.enum([
  'invalid_frame',
  'forbidden',
  'rate_limited',
  'too_large',
  'internal',
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const welcomeFrameSchema = z.object({
  type: z.literal('welcome'),
  conn: z.string(),
  device: z.string().optional(),
  heartbeatSec: z.number().positive(),
  permissions: z.array(permissionSchema),
});
export const ackFrameSchema = z.object({
  type: z.literal('ack'),
  ref: correlationId.optional(),
  seq: z.number().int().min(0).optional(),
  /** Answer to a `sub` with `since`: false when some missed messages are no longer held (reload from history). */
  recovered: z.boolean().optional(),
  /**
   * Answer to a `sub`: where the history of each filter that has one stood when the subscription took
   * effect. A client that sees no message before it drops sends this back as `since`, and misses nothing.
   */
  positions: z.record(z.string(), streamPositionSchema).optional(),
});
export const msgFrameSchema = z.object({
  type: z.literal('msg'),
  topic: z.string(),
  payload: z.json(),
  /** When the hub accepted the message, epoch ms. */
  ts: z.number(),
  retained: z.boolean().optional(),
  /** The message's place in its topic's history, on topics that keep one. */
  pos: streamPositionSchema.optional(),
});
export const errorFrameSchema = z.object({
  type: z.literal('error'),
  code: errorCodeSchema,
  message: z.string(),
  ref: correlationId.optional(),
});
export const serverFrameSchema = z.discriminatedUnion('type', [
  welcomeFrameSchema,
  ackFrameSchema,
  msgFrameSchema,
  errorFrameSchema,
]);

/** A text frame from the hub on a connection that negotiated `BATCH_SUBPROTOCOL` (subprotocols.ts). */
export const serverBatchSchema = z.array(serverFrameSchema).min(1);

export type WelcomeFrame = z.output<typeof welcomeFrameSchema>;
export type AckFrame = z.output<typeof ackFrameSchema>;
export type MsgFrame = z.output<typeof msgFrameSchema>;
export type ErrorFrame = z.output<typeof errorFrameSchema>;
export type ServerFrame = z.output<typeof serverFrameSchema>;
