/**
 * REST bodies of the hub's administration API for devices and client tokens (used by the operators'
 * HTTP API, the `edgewire-hub` management commands and the dashboard's admin screens).
 */
import { z } from 'zod';
import { deviceIdSchema, permissionSchema } from './identity.js';

/** Label keys are short identifiers (`site`, `rack.row`); values short text (`plant-1`, `north wing`). */
export const LABEL_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
export const LABEL_VALUE_PATTERN = /^[\p{L}\p{N} ._:/@-]{0,128}$/u;
export const MAX_LABELS = 32;

export const labelsSchema = z
  .record(
    z.string().regex(LABEL_KEY_PATTERN, 'label keys are 1-63 letters, digits, ".", "_", "/" or "-"'),
    z.string().regex(LABEL_VALUE_PATTERN, 'label values are at most 128 letters, digits, spaces or ._:/@-'),
  )
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`);
export type Labels = z.infer<typeof labelsSchema>;

/** An operator-chosen display name (devices, tokens). */
export const displayNameSchema = z.string().trim().min(1, 'must not be empty').max(128);
export const descriptionSchema = z.string().max(2000);

export const addDeviceBodySchema = z.object({
  id: deviceIdSchema,
  name: displayNameSchema.optional(),
  description: descriptionSchema.optional(),
  labels: labelsSchema.optional(),
});
export type AddDeviceBody = z.infer<typeof addDeviceBodySchema>;

export const patchDeviceBodySchema = z
  .object({
    name: displayNameSchema.nullable().optional(),
    description: descriptionSchema.optional(),
    labels: labelsSchema.optional(),
  })
  .strict();
export type PatchDeviceBody = z.infer<typeof patchDeviceBodySchema>;

export const addTokenBodySchema = z.object({
  name: displayNameSchema.optional(),
  permissions: z.array(permissionSchema).min(1).max(100),
  maxConnections: z.number().int().positive().optional(),
  /** ISO-8601 date-time with a zone; must lie in the future. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type AddTokenBody = z.infer<typeof addTokenBodySchema>;

/** Each field given replaces the stored one; `null` clears a limit or the expiry. */
export const patchTokenBodySchema = z
  .object({
    name: displayNameSchema.nullable().optional(),
    permissions: z.array(permissionSchema).min(1).max(100).optional(),
    maxConnections: z.number().int().positive().nullable().optional(),
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();
export type PatchTokenBody = z.infer<typeof patchTokenBodySchema>;

export const setPermissionsBodySchema = z.object({ permissions: z.array(permissionSchema).max(100) });
export type SetPermissionsBody = z.infer<typeof setPermissionsBodySchema>;

/** A credential as issued: shown exactly once. */
export const issuedCredentialSchema = z.object({ id: z.string(), token: z.string() });
export type IssuedCredential = z.infer<typeof issuedCredentialSchema>;
