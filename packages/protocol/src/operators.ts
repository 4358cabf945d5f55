/**
 * The operators' HTTP API (SPEC "Operators' HTTP API"): sign-in, the resources operators see and edit,
 * the audit log, and the `$admin/…` events that keep every operator's window in sync. Every body and
 * answer of `/api` is one of these schemas; the hub's OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { labelsSchema } from './admin.js';
import { deviceIdSchema, permissionSchema } from './identity.js';

export const ROLES = ['admin', 'viewer'] as const;
export const roleSchema = z.enum(ROLES, { error: 'expected admin or viewer' });
export type Role = z.infer<typeof roleSchema>;

export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const USER_NAME_RULE =
  'expected 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit';
export const userNameSchema = z.string().regex(USER_NAME_PATTERN, USER_NAME_RULE);

/** Long passwords beat complex ones (NIST SP 800-63B); the upper bound only stops absurd bodies. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;
export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`);

const isoSchema = z.iso.datetime({ offset: true });

/** Every error of `/api`: the status again, and `<field>: <problem>` or a plain sentence. */
export const apiErrorSchema = z.object({ error: z.number().int(), message: z.string() });
export type ApiError = z.infer<typeof apiErrorSchema>;

// ---- sign-in -------------------------------------------------------------------------------------

/** Sign-in does not apply the password rules: a wrong password is simply wrong. */
export const signInBodySchema = z.object({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});
export type SignInBody = z.infer<typeof signInBodySchema>;

export const sessionInfoSchema = z.object({
  /** The operator's name; for a program, `apitoken:<id>` or `cli`. */
  name: z.string(),
  role: roleSchema,
  /** When the session ends at the latest, whatever the activity. */
  expiresAt: isoSchema,
});
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

// ---- resources -----------------------------------------------------------------------------------

/** Every editable resource carries `version`; the `ETag` header repeats it, `If-Match` checks it. */
const versioned = { version: z.number().int().positive() };

export const latestValueSchema = z.object({
  metric: z.string(),
  t: z.number(),
  v: z.number(),
  unit: z.string().nullable(),
});

export const deviceViewSchema = z.object({
  id: deviceIdSchema,
  name: z.string().nullable(),
  description: z.string(),
  labels: labelsSchema,
  createdAt: isoSchema,
  online: z.boolean(),
  /** The last time the hub heard from it (now while online); null when it never connected. */
  lastSeen: isoSchema.nullable(),
  /** Since when its live connection exists; null while offline. */
  connectedSince: isoSchema.nullable(),
  /** The address and agent version of its latest connection. */
  address: z.string().nullable(),
  agentVersion: z.string().nullable(),
  /** The newest stored value per metric. */
  latest: z.array(latestValueSchema),
  ...versioned,
});
export type DeviceView = z.infer<typeof deviceViewSchema>;
export const deviceListSchema = z.object({ devices: z.array(deviceViewSchema) });
export type DeviceList = z.infer<typeof deviceListSchema>;

/**
 * `GET /api/devices?label=site=plant-1&label=floor&online=true&q=boiler`: every `label` must hold
 * (`key=value`, or just `key` for "has the label"), `q` matches id or name, case-insensitively.
 */
export const deviceListQuerySchema = z.object({
  label: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
  online: z.enum(['true', 'false'], { error: 'expected true or false' }).optional(),
  q: z.string().max(128).optional(),
});
export type DeviceListQuery = z.infer<typeof deviceListQuerySchema>;

export const clientTokenViewSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  permissions: z.array(permissionSchema),
  maxConnections: z.number().int().nullable(),
  expiresAt: isoSchema.nullable(),
  revokedAt: isoSchema.nullable(),
  createdAt: isoSchema,
  lastUsedAt: isoSchema.nullable(),
  ...versioned,
});
export type ClientTokenView = z.infer<typeof clientTokenViewSchema>;
export const clientTokenListSchema = z.object({ tokens: z.array(clientTokenViewSchema) });
export type ClientTokenList = z.infer<typeof clientTokenListSchema>;

export const connectionViewSchema = z.object({
  conn: z.string(),
  kind: z.enum(['device', 'client', 'operator']),
  device: z.string().nullable(),
  tokenId: z.string().nullable(),
  operator: z.string().nullable(),
  address: z.string(),
  since: isoSchema,
  subscriptions: z.array(z.string()),
  bytesIn: z.number().int(),
  bytesOut: z.number().int(),
});
export type ConnectionView = z.infer<typeof connectionViewSchema>;
export const connectionListSchema = z.object({ connections: z.array(connectionViewSchema) });
export type ConnectionList = z.infer<typeof connectionListSchema>;

export const userViewSchema = z.object({
  name: userNameSchema,
  role: roleSchema,
  createdAt: isoSchema,
  ...versioned,
});
export type UserView = z.infer<typeof userViewSchema>;
export const userListSchema = z.object({ users: z.array(userViewSchema) });
export type UserList = z.infer<typeof userListSchema>;

export const addUserBodySchema = z.object({
  name: userNameSchema,
  role: roleSchema,
  password: passwordSchema,
});
export type AddUserBody = z.infer<typeof addUserBodySchema>;
export const patchUserBodySchema = z
  .object({ role: roleSchema.optional(), password: passwordSchema.optional() })
  .strict();
export type PatchUserBody = z.infer<typeof patchUserBodySchema>;

// ---- audit log -----------------------------------------------------------------------------------

export const auditEntrySchema = z.object({
  id: z.number().int(),
  at: isoSchema,
  /** `user:<name>`, `apitoken:<id>`, `cli`, `system`. */
  actor: z.string(),
  /** `device.add`, `token.revoke`, `user.remove`, `session.signin`, … */
  action: z.string(),
  /** `device:<id>`, `token:<id>`, `user:<name>`, `connection:<conn>`. */
  target: z.string().nullable(),
  address: z.string().nullable(),
  /** What changed (field names, new non-secret values); never a password or a token. */
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

const digits = (field: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, `${field} must be a whole number`)
    .transform(Number);

/** `GET /api/audit?before=<id>&limit=&actor=&action=&target=`: newest first; `before` pages back. */
export const auditQuerySchema = z.object({
  before: digits('before').optional(),
  limit: digits('limit').pipe(z.number().int().min(1, 'at least 1').max(500, 'at most 500')).optional(),
  actor: z.string().max(200).optional(),
  action: z.string().max(100).optional(),
  target: z.string().max(300).optional(),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;
export const auditPageSchema = z.object({
  entries: z.array(auditEntrySchema),
  /** Pass as `before` for the next (older) page; null when this was the last one. */
  next: z.number().int().nullable(),
});
export type AuditPage = z.infer<typeof auditPageSchema>;

// ---- live administration events -------------------------------------------------------------------

export const ADMIN_RESOURCES = ['device', 'token', 'user', 'connection'] as const;
export const adminEventSchema = z.object({
  resource: z.enum(ADMIN_RESOURCES),
  id: z.string(),
  action: z.enum(['created', 'updated', 'deleted']),
  /** The resource's new version (absent when deleted). */
  version: z.number().int().optional(),
  by: z.string(),
  at: isoSchema,
});
export type AdminEvent = z.infer<typeof adminEventSchema>;

/** Where the hub publishes every change; operators may subscribe (`$admin/#` for all of them). */
export const adminTopics = {
  all: '$admin/#',
  device: (id: string) => `$admin/devices/${id}`,
  token: (id: string) => `$admin/tokens/${id}`,
  user: (name: string) => `$admin/users/${name}`,
  connection: (conn: string) => `$admin/connections/${conn}`,
} as const;

/**
 * Which signed-in operators have a device's page open. Subscribing to `viewerTopics.device(id)` from an
 * operator's session connection is itself what counts as looking at the page (it ends with the
 * unsubscription or the connection); the hub keeps the current list retained on that topic.
 */
export const viewerTopics = {
  all: '$viewers/#',
  device: (id: string) => `$viewers/devices/${id}`,
} as const;

export const pageViewersSchema = z.object({
  device: deviceIdSchema,
  /** Each operator once, however many windows they have open on the page; longest-looking first. */
  viewers: z.array(z.object({ name: userNameSchema, since: isoSchema })),
});
export type PageViewers = z.infer<typeof pageViewersSchema>;
