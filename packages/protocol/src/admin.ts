/**
 * REST bodies of the hub's administration API (used by `edgewire-hub` management commands and, later,
 * the dashboard's admin screens).
 */
import { z } from 'zod';
import { deviceIdSchema, permissionSchema } from './identity.js';

export const addDeviceBodySchema = z.object({ id: deviceIdSchema });
export type AddDeviceBody = z.infer<typeof addDeviceBodySchema>;

export const addTokenBodySchema = z.object({
  permissions: z.array(permissionSchema).min(1).max(100),
  maxConnections: z.number().int().positive().optional(),
  /** ISO-8601 date-time with a zone; must lie in the future. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type AddTokenBody = z.infer<typeof addTokenBodySchema>;

export const setPermissionsBodySchema = z.object({ permissions: z.array(permissionSchema).max(100) });
export type SetPermissionsBody = z.infer<typeof setPermissionsBodySchema>;

/** A credential as issued: shown exactly once. */
export const issuedCredentialSchema = z.object({ id: z.string(), token: z.string() });
export type IssuedCredential = z.infer<typeof issuedCredentialSchema>;
