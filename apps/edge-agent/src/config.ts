/**
 * The agent's one YAML file, validated at start. Every problem is reported with the key that holds it
 * (and the line, when the YAML says where it is), because a Pi in a cupboard gives no second chance to
 * guess what was wrong.
 */
import { readFileSync } from 'node:fs';
import { deviceIdSchema, formatPath, nameSchema, unitSchema } from '@edgewire/protocol';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { HubUrlError, normaliseHubUrl } from './connection/hub-url.js';

export const DEFAULT_CONFIG_PATH = '/etc/edgewire/agent.yaml';
export const DEFAULT_BUFFER_PATH = '/var/lib/edgewire/buffer.db';
/** The hub closes connections over this size with 1009 (SPEC "Running", EDGEWIRE_MAX_FRAME_BYTES). */
export const HUB_DEFAULT_MAX_FRAME_BYTES = 65_536;

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** `64MB`, `512 KiB` or a plain number of bytes. */
const byteSize = z.union([
  z.number().int().positive(),
  z.string().transform((text, ctx) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(text);
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a size like 64MB or 512KiB, got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
    return Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!);
  }),
]);

const metricName = nameSchema;
// The hub refuses a frame whose unit it would not store, so a bad unit must stop the agent at start.
const unit = unitSchema;

/** How one parsed field becomes a reading: value × scale + offset. */
const fieldMappingSchema = z.strictObject({
  metric: metricName.optional(),
  unit: unit.optional(),
  scale: z.number().default(1),
  offset: z.number().default(0),
});
export type FieldMapping = z.output<typeof fieldMappingSchema>;
const fieldsSchema = z.record(z.string(), fieldMappingSchema).optional();

const lineParserSchema = z.discriminatedUnion('format', [
  /** `{"temp": 21.5}`: every numeric top-level field, or only the mapped ones when `fields` is set. */
  z.strictObject({ format: z.literal('json'), fields: fieldsSchema }),
  /** `temp=21.5 hum=40` (pairs separated by spaces, commas or semicolons). */
  z.strictObject({ format: z.literal('kv'), fields: fieldsSchema }),
  /** A regular expression whose named groups are the fields. */
  z.strictObject({
    format: z.literal('regex'),
    pattern: z.string().superRefine((source, ctx) => {
      let re: RegExp;
      try {
        re = new RegExp(source);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `not a valid regular expression: ${(error as Error).message}`,
        });
        return;
      }
      if (!/\(\?<[A-Za-z_]/.test(re.source))
        ctx.addIssue({ code: 'custom', message: 'needs at least one named group, like (?<temp>[-\\d.]+)' });
    }),
    fields: fieldsSchema,
  }),
]);
export type LineParserConfig = z.output<typeof lineParserSchema>;

const sensorName = nameSchema;

const systemSensorSchema = z.strictObject({
  type: z.literal('system'),
  name: sensorName.default('system'),
  intervalSec: z.number().positive().default(10),
  /** Prepended to every metric name, e.g. `pi_` → `pi_cpu_temp`. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default(''),
  /** Mount point whose usage `disk_used_pct` reports. */
  disk: z.string().default('/'),
});

const waveSchema = z.strictObject({
  metric: metricName,
  unit: unit.optional(),
  wave: z.enum(['sine', 'square', 'sawtooth', 'random-walk']).default('sine'),
  periodSec: z.number().positive().default(60),
  min: z.number().default(0),
  max: z.number().default(100),
  /** Standard deviation of gaussian noise added to every sample. */
  noise: z.number().min(0).default(0),
});
export type WaveConfig = z.output<typeof waveSchema>;

const simulatedSensorSchema = z.strictObject({
  type: z.literal('simulated'),
  name: sensorName.default('simulated'),
  /** Samples per second of every signal. */
  rateHz: z.number().positive().max(10_000).default(1),
  signals: z.array(waveSchema).min(1),
});

const serialSensorSchema = z.strictObject({
  type: z.literal('serial'),
  name: sensorName.default('serial'),
  path: z.string().min(1).default('/dev/serial0'),
  baudRate: z.number().int().positive().default(9600),
  delimiter: z.string().min(1).default('\n'),
  parser: lineParserSchema,
  reopen: z
    .strictObject({
      initialMs: z.number().int().positive().default(500),
      maxMs: z.number().int().positive().default(30_000),
    })
    .prefault({}),
});

const gpioInputSchema = z.strictObject({
  pin: z.number().int().min(0).max(63),
  metric: metricName,
  /** `sample`: read every intervalMs; `edge`: a reading per debounced change; `pulse`: S0 pulse counting. */
  mode: z.enum(['sample', 'edge', 'pulse']).default('edge'),
  edge: z.enum(['rising', 'falling', 'both']).default('both'),
  debounceMs: z.number().min(0).default(10),
  activeLow: z.boolean().default(false),
  /** sample mode: how often; pulse mode: how often the count and rate are reported. */
  intervalMs: z.number().int().positive().default(10_000),
  /** pulse mode: how much one pulse is worth (an S0 meter at 1000 imp/kWh gives 1 Wh per pulse). */
  unitPerPulse: z.number().positive().default(1),
  unit: unit.optional(),
});
export type GpioInputConfig = z.output<typeof gpioInputSchema>;

const gpioOutputSchema = z.strictObject({
  pin: z.number().int().min(0).max(63),
  /** The command name: `devices/{id}/cmd/{command}` with payload `{"value": 0|1}` drives the pin. */
  command: metricName,
  initial: z.union([z.literal(0), z.literal(1)]).default(0),
  activeLow: z.boolean().default(false),
});
export type GpioOutputConfig = z.output<typeof gpioOutputSchema>;

const gpioSensorSchema = z.strictObject({
  type: z.literal('gpio'),
  name: sensorName.default('gpio'),
  /** Label of the gpiochip holding the BCM pins; found automatically on every Raspberry Pi. */
  chipLabel: z.string().optional(),
  inputs: z.array(gpioInputSchema).default([]),
  outputs: z.array(gpioOutputSchema).default([]),
});
export type GpioSensorConfig = z.output<typeof gpioSensorSchema>;

const sensorSchema = z.discriminatedUnion('type', [
  systemSensorSchema,
  simulatedSensorSchema,
  serialSensorSchema,
  gpioSensorSchema,
]);
export type SensorConfig = z.output<typeof sensorSchema>;
export type SystemSensorConfig = z.output<typeof systemSensorSchema>;
export type SimulatedSensorConfig = z.output<typeof simulatedSensorSchema>;
export type SerialSensorConfig = z.output<typeof serialSensorSchema>;

/** Any form of the hub's address a user may paste, normalised (see `normaliseHubUrl`). */
const hubUrl = z.string().transform((text, ctx) => {
  try {
    return normaliseHubUrl(text);
  } catch (error) {
    if (!(error instanceof HubUrlError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
    return z.NEVER;
  }
});

export const agentConfigSchema = z.strictObject({
  deviceId: deviceIdSchema,
  hub: z.strictObject({
    /**
     * Base URL of the hub; the agent connects to `{url}/ws/device/{deviceId}`. http(s) becomes ws(s),
     * and a pasted `/ws` or `/ws/device/…` ending is dropped.
     */
    url: hubUrl,
    /** PEM file of the CA that signed the hub's certificate, when it is not one the system trusts. */
    ca: z.string().min(1).optional(),
  }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  buffer: z
    .strictObject({
      path: z.string().min(1).default(DEFAULT_BUFFER_PATH),
      /** Upper bound of buffered readings on disk; the oldest are evicted (and counted) beyond it. */
      maxBytes: byteSize.default(64_000_000),
      /** Group commit: appends are written and fsynced together this often. */
      flushIntervalMs: z.number().int().min(10).max(10_000).default(500),
      /**
       * How often the agent reports its own backlog and evictions as readings (`agent_buffered_readings`,
       * `agent_evicted_readings_total`), so an operator sees them next to the sensors; 0 turns it off.
       */
      reportIntervalSec: z.number().min(0).default(60),
    })
    .prefault({}),
  delivery: z
    .strictObject({
      /** Telemetry frames sent but not yet acked. */
      window: z.number().int().min(1).max(1000).default(8),
      maxReadingsPerFrame: z.number().int().min(1).max(5000).default(1000),
      maxFrameBytes: z.number().int().min(1024).default(HUB_DEFAULT_MAX_FRAME_BYTES),
      /** Readings per second at most, so a backlog after an outage does not flood the hub. */
      maxReadingsPerSec: z.number().positive().default(20_000),
      /**
       * Frames that got no ack at all for this long are sent again (a hub acks within a second when its
       * database is up; while it is down it acks nothing, and a resend every 30 s costs little).
       */
      ackTimeoutMs: z.number().int().min(100).default(30_000),
    })
    .prefault({}),
  connection: z
    .strictObject({
      initialBackoffMs: z.number().int().positive().default(1000),
      maxBackoffMs: z.number().int().positive().default(60_000),
      /** A connection that lasted this long resets the backoff. */
      stableAfterMs: z.number().int().positive().default(60_000),
      /** Wait between attempts when the hub refused the token (401/403/4003). */
      refusedRetryMs: z.number().int().positive().default(300_000),
      /** Heartbeat assumed until the hub's `welcome` tells its own. */
      heartbeatSec: z.number().positive().default(20),
    })
    .prefault({}),
  sensors: z.array(sensorSchema).default([]),
});
export type AgentConfig = z.output<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const TOKEN_KEY = /^(token|.*_token|.*Token|password|secret|authorization)$/i;

/** Keys holding a credential anywhere in the document: refused, tokens live in EDGEWIRE_TOKEN only. */
function findCredentialKey(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findCredentialKey(value[i], [...path, i]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (TOKEN_KEY.test(key)) return [...path, key];
      const found = findCredentialKey(child, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/** Validates already-parsed config data; `where(path)` may add a location such as `agent.yaml:12`. */
export function parseConfig(
  data: unknown,
  where: (path: readonly PropertyKey[]) => string = () => 'config',
): AgentConfig {
  const credential = findCredentialKey(data);
  if (credential) {
    throw new ConfigError(
      `${where(credential)}: ${formatPath(credential)}: the token must not be in the config file; ` +
        'set EDGEWIRE_TOKEN in /etc/edgewire/agent.env (mode 0600) instead',
    );
  }
  const result = agentConfigSchema.safeParse(data ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = formatPath(issue.path) || '(top level)';
    return `${where(issue.path)}: ${key}: ${describe(issue)}`;
  });
  throw new ConfigError(`invalid agent config:\n  ${lines.join('\n  ')}`);
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined) return 'required';
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  if (issue.code === 'invalid_union') {
    // A discriminated union's message already lists the known kinds.
    if ('discriminator' in issue && issue.discriminator) return issue.message;
    // The branch that got past the type check says most, e.g. "expected a size like 64MB".
    const branches = issue.errors.map((errors) => errors[0]).filter((e) => e !== undefined);
    const specific = branches.find((e) => e.code !== 'invalid_type');
    if (specific) return describe(specific);
    return `expected ${branches.map((b) => (b.code === 'invalid_type' ? b.expected : '?')).join(' or ')}`;
  }
  return issue.message;
}

/** Reads and validates the YAML config file at `path`. Throws ConfigError with key and line. */
export function loadConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0].line;
    throw new ConfigError(
      `${path}${line ? `:${line}` : ''}: not valid YAML: ${first.message.split('\n')[0]}`,
    );
  }
  const where = (issuePath: readonly PropertyKey[]): string => {
    // Point at the deepest node that exists: for a missing key that is its parent.
    for (let depth = issuePath.length; depth >= 0; depth--) {
      const node = doc.getIn(issuePath.slice(0, depth) as (string | number)[], true);
      if (
        node &&
        (isScalar(node) || isMap(node) || typeof node === 'object') &&
        'range' in node &&
        node.range
      ) {
        return `${path}:${lineCounter.linePos((node.range as [number, number, number])[0]).line}`;
      }
    }
    return path;
  };
  return parseConfig(doc.toJS(), where);
}

/** The device token, from the environment only (systemd EnvironmentFile, mode 0600). */
export function tokenFromEnvironment(env: NodeJS.ProcessEnv = process.env): string {
  const token = env.EDGEWIRE_TOKEN?.trim();
  if (!token) {
    throw new ConfigError(
      'EDGEWIRE_TOKEN is not set: put EDGEWIRE_TOKEN=<device token> in /etc/edgewire/agent.env (mode 0600)',
    );
  }
  return token;
}
