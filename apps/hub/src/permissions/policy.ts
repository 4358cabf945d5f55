/**
 * Who may subscribe to and publish on what (SPEC "Identities and credentials"): grants are checked
 * with `contains` for subscriptions and `matches` for publications. Reserved topics come first and
 * no grant opens them (SPEC "Topics"): telemetry, status and `$…` topics are the hub's alone, so
 * readings, retained values and presence cannot be forged; a device's command results are its own.
 */
import { contains, matches, type Permission, reservedTopicWriter, topics } from '@edgewire/protocol';

export interface Principal {
  readonly tokenId: string;
  readonly deviceId: string | undefined;
  readonly permissions: readonly Permission[];
}

export function maySubscribe(principal: Principal, filter: string): boolean {
  // A device gets its commands unasked; subscribing to them anyway is allowed, not an error.
  if (principal.deviceId !== undefined && contains(topics.commands(principal.deviceId), filter)) return true;
  return principal.permissions.some((grant) => contains(grant.filter, filter));
}

/** Why `principal` may not publish to `topic`, in words for the `error` frame, or `null` when it may. */
export function publishRefusal(principal: Principal, topic: string): string | null {
  const reserved = reservedTopicWriter(topic);
  if (reserved?.writer === 'hub') {
    return `topic: ${topic} is reserved: only the hub publishes it (devices send readings as telemetry frames)`;
  }
  if (reserved?.writer === 'device') {
    return reserved.deviceId === principal.deviceId
      ? null
      : `topic: ${topic} is reserved: only device ${reserved.deviceId} publishes it`;
  }
  const granted = principal.permissions.some(
    (grant) => grant.access === 'readwrite' && matches(grant.filter, topic),
  );
  return granted ? null : `topic: not allowed to publish to ${topic}`;
}
