/**
 * The history API: `GET /api/devices/{id}/readings` (time-bucketed series) and
 * `GET /api/devices/{id}/latest` (last value per metric). Query strings arrive as text, so the
 * schemas below parse text; responses carry times as epoch milliseconds, like readings.
 */
import { z } from 'zod';
import { timestampSchema } from './frames.js';
import { nameSchema } from './identity.js';

export const AGGREGATES = ['avg', 'min', 'max', 'last', 'count'] as const;
export const aggregateSchema = z.enum(AGGREGATES, { error: `expected one of ${AGGREGATES.join(', ')}` });
export type Aggregate = z.infer<typeof aggregateSchema>;

/** Most metrics one request may ask for. */
export const MAX_METRICS_PER_QUERY = 50;
/** Points per series when the request does not say; `maxPoints` may raise it up to `MAX_POINTS`. */
export const DEFAULT_MAX_POINTS = 1000;
export const MAX_POINTS = 10_000;

const BUCKET_UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const BUCKET_PATTERN = /^([1-9]\d{0,5})([smhdw])$/;

/** `10s`, `1m`, `6h`, `1d`, `1w` → milliseconds; undefined when the text is not a bucket. */
export function parseBucket(text: string): number | undefined {
  const match = BUCKET_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * BUCKET_UNITS[match[2] as keyof typeof BUCKET_UNITS];
}

/** Milliseconds → the shortest bucket text naming them (`90000` → `90s`, `3600000` → `1h`). */
export function formatBucket(ms: number): string {
  const units = Object.entries(BUCKET_UNITS).reverse();
  for (const [unit, size] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

const bucketSchema = z.string().transform((text, ctx) => {
  const ms = parseBucket(text);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a whole number and a unit s, m, h, d or w, like 10s, 1m, 1h',
    });
    return z.NEVER;
  }
  return ms;
});

/** Epoch ms written as digits, or ISO-8601 with a zone; the same range as reading timestamps. */
const queryTimeSchema = z.string().transform((text, ctx) => {
  const parsed = timestampSchema.safeParse(/^\d{1,16}$/.test(text) ? Number(text) : text);
  if (!parsed.success) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected epoch milliseconds or an ISO-8601 date-time with a zone, like 2026-01-31T12:00:00Z',
    });
    return z.NEVER;
  }
  return parsed.data;
});

const metricName = nameSchema;

/** `metric=a&metric=b` or `metric=a,b`. */
const metricsSchema = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')))
  .pipe(
    z
      .array(metricName)
      .min(1)
      .max(MAX_METRICS_PER_QUERY, `at most ${MAX_METRICS_PER_QUERY} metrics per request`),
  );

export const historyQuerySchema = z
  .object({
    metric: metricsSchema.optional(),
    from: queryTimeSchema.optional(),
    to: queryTimeSchema.optional(),
    bucket: bucketSchema.optional(),
    agg: aggregateSchema.default('avg'),
    maxPoints: z.coerce
      .number({ error: `expected a whole number from 1 to ${MAX_POINTS}` })
      .int()
      .min(1)
      .max(MAX_POINTS)
      .default(DEFAULT_MAX_POINTS),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    path: ['from'],
    message: 'must be earlier than to',
  });
export type HistoryQuery = z.output<typeof historyQuerySchema>;
/** The query as a client writes it. */
export type HistoryQueryInput = z.input<typeof historyQuerySchema>;

/** One bucket: `t` is the bucket start in epoch ms, `v` the aggregate of the readings in it. */
export const historyPointSchema = z.object({ t: z.number(), v: z.number() });
export const historySeriesSchema = z.object({
  metric: z.string(),
  /** Unit of the newest reading in the range, if it had one. */
  unit: z.string().nullable(),
  /** Buckets holding at least one reading, oldest first. */
  points: z.array(historyPointSchema),
});
export const historyResponseSchema = z.object({
  device: z.string(),
  from: z.number(),
  to: z.number(),
  bucket: z.string(),
  bucketMs: z.number(),
  agg: aggregateSchema,
  series: z.array(historySeriesSchema),
});
export type HistoryPoint = z.infer<typeof historyPointSchema>;
export type HistorySeries = z.infer<typeof historySeriesSchema>;
export type HistoryResponse = z.infer<typeof historyResponseSchema>;

export const latestReadingSchema = z.object({
  metric: z.string(),
  t: z.number(),
  v: z.number(),
  unit: z.string().nullable(),
});
export const latestResponseSchema = z.object({ device: z.string(), metrics: z.array(latestReadingSchema) });
export type LatestReading = z.infer<typeof latestReadingSchema>;
export type LatestResponse = z.infer<typeof latestResponseSchema>;

/** `metric: expected ...`: the first problem of a rejected query, naming its parameter. */
export function describeQueryError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid query';
  const name = issue.path[0] === undefined ? 'query' : String(issue.path[0]);
  return `${name}: ${issue.message}`;
}
