/**
 * Streams: the unit of history. Every topic of one device (`devices/{id}/…`) shares the stream
 * `devices/{id}`, so that a filter like `devices/pi-1/telemetry/#` has one position however many metrics
 * it covers; any other topic is a stream of its own. A filter can be recovered when every topic it
 * matches lies in one stream; a filter across streams (`devices/+/status`, `#`) cannot. Command filters
 * (`devices/{id}/cmd/…`, which every device connection holds implicitly) record nothing: otherwise every
 * connected device's readings would be recorded whether anyone watches them or not.
 */
const isWildcard = (level: string | undefined) => level === '+' || level === '#';

export function streamOf(topic: string): string {
  const levels = topic.split('/', 3);
  return levels[0] === 'devices' && levels.length >= 2 ? `devices/${levels[1]}` : topic;
}

/** The one stream all topics of `filter` belong to, or undefined when it spans several. */
export function streamOfFilter(filter: string): string | undefined {
  const levels = filter.split('/', 3);
  if (levels[0] === 'devices' && levels.length >= 2) {
    return isWildcard(levels[1]) || levels[2] === 'cmd' ? undefined : `devices/${levels[1]}`;
  }
  return filter.includes('+') || filter.includes('#') ? undefined : filter;
}
