/**
 * A browser-like client of the operators' API for tests: keeps the session cookie it is given and
 * sends the hub's own `Origin` unless told otherwise; or a program with a Bearer token.
 */
import WebSocket from 'ws';
import { TestClient } from './hub-harness.js';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the hub answered
  body: any;
  ms: number;
}

export interface CallOptions {
  body?: unknown;
  /** `null` sends no Origin at all; default: the hub's own origin. */
  origin?: string | null;
  headers?: Record<string, string>;
}

export class ApiClient {
  cookie: string | undefined;

  constructor(
    readonly baseUrl: string,
    readonly bearer?: string,
  ) {}

  async call(method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer> {
    const headers: Record<string, string> = { ...options.headers };
    const origin = options.origin === undefined ? this.baseUrl : options.origin;
    if (origin !== null) headers.origin = origin;
    if (this.cookie) headers.cookie = this.cookie;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    const ms = performance.now() - started;
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) {
      const pair = setCookie.split(';')[0]!;
      this.cookie = pair.endsWith('=') ? undefined : pair;
    }
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: response.status, headers: response.headers, body, ms };
  }

  async signIn(name: string, password: string, options: CallOptions = {}): Promise<ApiAnswer> {
    return this.call('POST', '/api/session', { ...options, body: { name, password } });
  }

  /** Opens `/ws` with this client's cookie (and `origin`); resolves once welcomed. */
  async socket(options: { origin?: string | null; topics?: string } = {}): Promise<TestClient> {
    const headers: Record<string, string> = {};
    if (this.cookie) headers.cookie = this.cookie;
    const origin = options.origin === undefined ? this.baseUrl : options.origin;
    if (origin !== null) headers.origin = origin;
    if (options.topics) headers.topics = options.topics;
    const socket = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/ws`, { headers });
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      socket.once('error', reject);
    });
    await client.nextOfType('welcome');
    return client;
  }
}

/** Resolves to the close code, or rejects when the socket is still open after `ms`. */
export async function closedWithin(closed: Promise<{ code: number }>, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
  });
  try {
    return (await Promise.race([closed, timeout])).code;
  } finally {
    clearTimeout(timer);
  }
}
