/**
 * Who may subscribe to and publish on what (SPEC "Identities and credentials"): grants are checked
 * with `contains` for subscriptions and `matches` for publications; a device additionally owns its
 * telemetry and command-result topics. Status topics are the hub's alone, so presence cannot be forged.
 */
import { contains, matches, type Permission, topics } from '@edgewire/protocol';

export interface Principal {
  readonly tokenId: string;
  readonly deviceId: string | undefined;
  readonly permissions: readonly Permission[];
}

/** Topics only the hub publishes: `devices/{id}/status` and every `$…` topic (e.g. `$admin/…`). */
function isHubOwned(topic: string): boolean {
  if (topic.startsWith('$')) return true;
  const levels = topic.split('/');
  return levels.length === 3 && levels[0] === 'devices' && levels[2] === 'status';
}

function isOwnDeviceTopic(principal: Principal, topic: string): boolean {
  const id = principal.deviceId;
  if (id === undefined) return false;
  const prefix = `devices/${id}/`;
  if (!topic.startsWith(prefix)) return false;
  const rest = topic.slice(prefix.length);
  return rest.startsWith('telemetry/') || rest.startsWith('cmd-result/');
}

export function maySubscribe(principal: Principal, filter: string): boolean {
  // A device gets its commands unasked; subscribing to them anyway is allowed, not an error.
  if (principal.deviceId !== undefined && contains(topics.commands(principal.deviceId), filter)) return true;
  return principal.permissions.some((grant) => contains(grant.filter, filter));
}

export function mayPublish(principal: Principal, topic: string): boolean {
  if (isHubOwned(topic)) return false;
  if (isOwnDeviceTopic(principal, topic)) return true;
  return principal.permissions.some((grant) => grant.access === 'readwrite' && matches(grant.filter, topic));
}
