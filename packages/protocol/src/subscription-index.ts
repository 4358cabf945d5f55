/**
 * A trie of subscription filters: given a topic name, which subscribers have a filter that matches it?
 *
 * Each node is one filter level. Subscribers are kept at the node where their filter ends; `#` is kept
 * on the node above it so that `a/#` also matches `a` itself. Removing the last subscriber of a node
 * prunes every node that became empty, so the index never outgrows its live subscriptions.
 */

interface TrieNode<S> {
  parent: TrieNode<S> | undefined;
  /** The level that leads from `parent` to this node. */
  level: string;
  children: Map<string, TrieNode<S>> | undefined;
  /** Subscribers whose filter ends exactly at this node. */
  exact: Set<S> | undefined;
  /** Subscribers whose filter is this node's path followed by `#`. */
  rest: Set<S> | undefined;
}

const newNode = <S>(parent: TrieNode<S> | undefined, level: string): TrieNode<S> => ({
  parent,
  level,
  children: undefined,
  exact: undefined,
  rest: undefined,
});

export class SubscriptionIndex<S> {
  readonly #root: TrieNode<S> = newNode<S>(undefined, '');
  #size = 0;

  /** Number of (filter, subscriber) pairs held. */
  get size(): number {
    return this.#size;
  }

  /** Adds `subscriber` under `filter` (assumed valid). Returns false when it was already there. */
  add(filter: string, subscriber: S): boolean {
    const levels = filter.split('/');
    const multi = levels[levels.length - 1] === '#';
    const depth = multi ? levels.length - 1 : levels.length;
    let node = this.#root;
    for (let i = 0; i < depth; i++) {
      const level = levels[i]!;
      node.children ??= new Map();
      let child = node.children.get(level);
      if (!child) {
        child = newNode(node, level);
        node.children.set(level, child);
      }
      node = child;
    }
    if (multi) node.rest ??= new Set();
    else node.exact ??= new Set();
    const set = (multi ? node.rest : node.exact)!;
    if (set.has(subscriber)) return false;
    set.add(subscriber);
    this.#size++;
    return true;
  }

  /** Removes `subscriber` from `filter`. Returns false when it was not subscribed to it. */
  remove(filter: string, subscriber: S): boolean {
    const levels = filter.split('/');
    const multi = levels[levels.length - 1] === '#';
    const depth = multi ? levels.length - 1 : levels.length;
    let node: TrieNode<S> | undefined = this.#root;
    for (let i = 0; i < depth && node; i++) node = node.children?.get(levels[i]!);
    if (!node) return false;
    const set = multi ? node.rest : node.exact;
    if (!set?.delete(subscriber)) return false;
    this.#size--;
    if (set.size === 0) {
      if (multi) node.rest = undefined;
      else node.exact = undefined;
    }
    this.#prune(node);
    return true;
  }

  /** The subscribers with at least one filter matching `topic`, each once. */
  match(topic: string): Set<S> {
    const found = new Set<S>();
    const levels = topic.split('/');
    // `$` topics are not matched by a wildcard in the first level (MQTT rule).
    const dollar = levels[0]!.startsWith('$');
    this.#collect(this.#root, levels, 0, dollar, found);
    return found;
  }

  /** Is there any subscriber for `topic`? Cheaper than `match` when only the answer matters. */
  hasMatch(topic: string): boolean {
    const levels = topic.split('/');
    return this.#any(this.#root, levels, 0, levels[0]!.startsWith('$'));
  }

  #collect(node: TrieNode<S>, levels: string[], i: number, dollar: boolean, found: Set<S>): void {
    const wildcardsAllowed = !(dollar && i === 0);
    if (node.rest && wildcardsAllowed) for (const s of node.rest) found.add(s);
    if (i === levels.length) {
      if (node.exact) for (const s of node.exact) found.add(s);
      return;
    }
    const children = node.children;
    if (!children) return;
    const literal = children.get(levels[i]!);
    if (literal) this.#collect(literal, levels, i + 1, dollar, found);
    if (wildcardsAllowed) {
      const plus = children.get('+');
      if (plus) this.#collect(plus, levels, i + 1, dollar, found);
    }
  }

  #any(node: TrieNode<S>, levels: string[], i: number, dollar: boolean): boolean {
    const wildcardsAllowed = !(dollar && i === 0);
    if (node.rest && wildcardsAllowed) return true;
    if (i === levels.length) return node.exact !== undefined;
    const children = node.children;
    if (!children) return false;
    const literal = children.get(levels[i]!);
    if (literal && this.#any(literal, levels, i + 1, dollar)) return true;
    if (!wildcardsAllowed) return false;
    const plus = children.get('+');
    return plus !== undefined && this.#any(plus, levels, i + 1, dollar);
  }

  #prune(start: TrieNode<S>): void {
    let node = start;
    while (node.parent && !node.exact && !node.rest && (!node.children || node.children.size === 0)) {
      const parent: TrieNode<S> = node.parent;
      parent.children!.delete(node.level);
      if (parent.children!.size === 0) parent.children = undefined;
      node.parent = undefined;
      node = parent;
    }
  }

  /** True when no subscription is held and no node is left behind. */
  isEmpty(): boolean {
    const root = this.#root;
    return this.#size === 0 && !root.children && !root.exact && !root.rest;
  }
}
