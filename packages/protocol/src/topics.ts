/**
 * MQTT-style topic names and filters (SPEC "Topics").
 *
 * Levels are separated by `/`. In a filter `+` stands for exactly one level and `#` for any number of
 * trailing levels, zero included; each wildcard fills a whole level and `#` only the last one. A topic
 * whose first level starts with `$` is not matched by a filter whose first level is a wildcard.
 */

export const MAX_TOPIC_BYTES = 1024;
export const MAX_TOPIC_LEVELS = 32;

const SEPARATOR = '/';
const SINGLE = '+';
const MULTI = '#';

const utf8 = new TextEncoder();

function checkCommon(kind: string, value: unknown): string | null {
  if (typeof value !== 'string') return `${kind} must be a string`;
  if (value.length === 0) return `${kind} must not be empty`;
  // A UTF-16 length over the limit may still fit in UTF-8 only when it is not over by a factor of 3.
  if (value.length > MAX_TOPIC_BYTES || utf8.encode(value).length > MAX_TOPIC_BYTES) {
    return `${kind} is longer than ${MAX_TOPIC_BYTES} bytes`;
  }
  if (value.includes('\u0000')) return `${kind} must not contain NUL`;
  return null;
}

function countLevels(value: string): number {
  let levels = 1;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) === 47) levels++;
  return levels;
}

/** Why `topic` is not a valid topic name to publish to, or `null` when it is. */
export function topicError(topic: unknown): string | null {
  const common = checkCommon('topic', topic);
  if (common) return common;
  const t = topic as string;
  if (t.includes(SINGLE) || t.includes(MULTI)) return 'topic must not contain the wildcards + or #';
  if (countLevels(t) > MAX_TOPIC_LEVELS) return `topic has more than ${MAX_TOPIC_LEVELS} levels`;
  return null;
}

/** Why `filter` is not a valid subscription filter, or `null` when it is. */
export function filterError(filter: unknown): string | null {
  const common = checkCommon('filter', filter);
  if (common) return common;
  const levels = (filter as string).split(SEPARATOR);
  if (levels.length > MAX_TOPIC_LEVELS) return `filter has more than ${MAX_TOPIC_LEVELS} levels`;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === MULTI) {
      if (i !== levels.length - 1) return '# may only stand as the last level of a filter';
    } else if (level !== SINGLE && (level.includes(SINGLE) || level.includes(MULTI))) {
      return 'wildcards + and # must fill a whole level';
    }
  }
  return null;
}

export const isValidTopic = (topic: unknown): topic is string => topicError(topic) === null;
export const isValidFilter = (filter: unknown): filter is string => filterError(filter) === null;

const isWildcard = (level: string): boolean => level === SINGLE || level === MULTI;

/** Does `filter` match the topic name `topic`? Both are assumed valid. */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split(SEPARATOR);
  const t = topic.split(SEPARATOR);
  if (t[0]!.startsWith('$') && isWildcard(f[0]!)) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === MULTI) return true;
    if (i >= t.length) return false;
    if (level !== SINGLE && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Is every topic that `inner` matches also matched by `outer`? Both are assumed valid filters.
 * This is the permission check for `sub`: a grant on `outer` allows subscribing to `inner`.
 */
export function contains(outer: string, inner: string): boolean {
  const o = outer.split(SEPARATOR);
  const n = inner.split(SEPARATOR);
  // `inner` reaches `$` topics only through a literal first level; `outer` must then name it literally.
  if (isWildcard(o[0]!) && !isWildcard(n[0]!) && n[0]!.startsWith('$')) return false;
  for (let i = 0; ; i++) {
    const ol = o[i];
    const nl = n[i];
    if (ol === MULTI) return true;
    if (nl === undefined) return ol === undefined;
    if (nl === MULTI) {
      // A topic has at least one level, so a leading `#` means "one level or more", which is exactly `+/#`.
      return i === 0 && ol === SINGLE && o[1] === MULTI;
    }
    if (ol === undefined) return false;
    if (ol === SINGLE) continue;
    if (nl !== ol) return false;
  }
}

/** Reserved topics of SPEC "Topics". */
export const topics = {
  telemetry: (deviceId: string, metric: string) => `devices/${deviceId}/telemetry/${metric}`,
  status: (deviceId: string) => `devices/${deviceId}/status`,
  command: (deviceId: string, name: string) => `devices/${deviceId}/cmd/${name}`,
  /** Filter that delivers every command for one device. */
  commands: (deviceId: string) => `devices/${deviceId}/cmd/#`,
  commandResult: (deviceId: string, name: string) => `devices/${deviceId}/cmd-result/${name}`,
  /** The device's own list of the commands it answers (retained), so operators need not guess them. */
  commandList: (deviceId: string) => `devices/${deviceId}/cmd-list`,
} as const;

/** Who alone may `pub` to a reserved topic. */
export type TopicWriter =
  | { readonly writer: 'hub' }
  | { readonly writer: 'device'; readonly deviceId: string };

const HUB_WRITES: TopicWriter = { writer: 'hub' };

/**
 * The one publisher a reserved topic admits, whatever grants say, or `null` for a free topic (SPEC
 * "Topics"): `$…` topics, `devices/{id}/telemetry[/…]` and `devices/{id}/status[/…]` are written by
 * the hub alone (devices send readings as `telemetry` frames, so the live view and the history never
 * disagree); `devices/{id}/cmd-result[/…]` and `devices/{id}/cmd-list[/…]` by that device alone.
 * `topic` is assumed valid.
 */
export function reservedTopicWriter(topic: string): TopicWriter | null {
  if (topic.startsWith('$')) return HUB_WRITES;
  const levels = topic.split(SEPARATOR, 4);
  if (levels.length < 3 || levels[0] !== 'devices') return null;
  switch (levels[2]) {
    case 'telemetry':
    case 'status':
      return HUB_WRITES;
    case 'cmd-result':
    case 'cmd-list':
      return { writer: 'device', deviceId: levels[1]! };
    default:
      return null;
  }
}
