/**
 * How many filters a connection, and all connections of one token, may hold, and how much of the
 * subscription index they may take (SPEC "Topics": subscriptions per connection are bounded). A
 * filter's memory is estimated from its text and its levels: measured on the trie, a level costs
 * about 250 bytes (node, child map, level string) and the text is held twice (the connection's set
 * and the trie's levels), so 90,000 30-level filters of 930 bytes took 9.3 KiB each. The estimate
 * is an upper bound: filters that share prefixes share trie nodes.
 */

/** Estimated trie bytes per filter level. */
const BYTES_PER_LEVEL = 256;

export interface SubscriptionLimits {
  readonly maxSubscriptions: number;
  readonly maxSubscriptionBytes: number;
  readonly maxSubscriptionsPerToken: number;
  readonly maxSubscriptionBytesPerToken: number;
}

/** What some filters hold: how many, and their estimated index memory. */
export interface SubscriptionUsage {
  count: number;
  bytes: number;
}

const utf8 = new TextEncoder();

/** The estimated index memory of one filter, in bytes. */
export function filterBytes(filter: string): number {
  let levels = 1;
  for (let i = 0; i < filter.length; i++) if (filter.charCodeAt(i) === 47) levels++;
  return 2 * utf8.encode(filter).length + levels * BYTES_PER_LEVEL;
}

/** The usage of `filters` together. */
export function usageOf(filters: Iterable<string>): SubscriptionUsage {
  const usage = { count: 0, bytes: 0 };
  for (const filter of filters) {
    usage.count++;
    usage.bytes += filterBytes(filter);
  }
  return usage;
}

/**
 * Why adding `added` (filters not yet held) to a connection using `connection`, of a token using
 * `token`, would break a limit, in words for an `error` frame; `null` when it fits.
 */
export function subscriptionLimitError(
  limits: SubscriptionLimits,
  connection: SubscriptionUsage,
  token: SubscriptionUsage,
  added: SubscriptionUsage,
): string | null {
  if (connection.count + added.count > limits.maxSubscriptions) {
    return `subscription limit reached (${limits.maxSubscriptions} filters per connection); unsubscribe first`;
  }
  if (connection.bytes + added.bytes > limits.maxSubscriptionBytes) {
    return `subscription memory limit reached (${limits.maxSubscriptionBytes} bytes per connection, long and deep filters cost more); unsubscribe first`;
  }
  if (token.count + added.count > limits.maxSubscriptionsPerToken) {
    return `subscription limit reached (${limits.maxSubscriptionsPerToken} filters per token across its connections)`;
  }
  if (token.bytes + added.bytes > limits.maxSubscriptionBytesPerToken) {
    return `subscription memory limit reached (${limits.maxSubscriptionBytesPerToken} bytes per token across its connections)`;
  }
  return null;
}
