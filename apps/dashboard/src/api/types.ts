/**
 * Shapes of the operators' HTTP API answers the dashboard reads (SPEC "Operators' HTTP API"),
 * as the hub sends them.
 */
import type { Permission } from '@edgewire/protocol';

export type Role = 'admin' | 'viewer';

export interface Session {
  name: string;
  role: Role;
}

export interface LatestValue {
  metric: string;
  t: number;
  v: number;
  unit: string | null;
}

export interface Device {
  id: string;
  name: string | null;
  description?: string;
  labels: Record<string, string>;
  online: boolean;
  lastSeen: string | null;
  connectedSince?: string | null;
  address?: string | null;
  agentVersion?: string | null;
  latest: LatestValue[];
  version?: number;
}

export interface ClientToken {
  id: string;
  name: string | null;
  permissions: Permission[];
  maxConnections: number | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  version?: number;
}

export interface Connection {
  conn: string;
  kind: 'device' | 'client' | 'operator';
  device: string | null;
  tokenId: string | null;
  operator: string | null;
  address: string;
  since: string;
  subscriptions: string[];
}

export interface Operator {
  name: string;
  role: Role;
  createdAt: string;
  version?: number;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

export interface AdminEvent {
  resource: 'device' | 'token' | 'user' | 'connection';
  id: string;
  action: 'created' | 'updated' | 'deleted';
  version?: number;
  by: string;
  at: string;
}
