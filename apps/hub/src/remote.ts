/**
 * For programs that manage a hub running in another process (the one-command demo): the admin client
 * and the local admin endpoint, without loading the hub itself (`@edgewire/hub` would).
 */
export { HttpAdminClient } from './admin/admin-client.js';
export type { AddTokenOptions, AdminApi } from './admin/admin-service.js';
export { type LocalAdmin, readLocalAdmin } from './admin/local-admin.js';
