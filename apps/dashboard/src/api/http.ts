/**
 * Every call to the hub's `/api`: same-origin cookie, JSON in and out, and errors turned into words a
 * user can act on (`{"error": 412, "message": "..."}` from the hub, or what went wrong on the way).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    /** The hub's body, e.g. the current version of a resource with a 412. */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

const STATUS_WORDS: Record<number, string> = {
  401: 'You are signed out; sign in again.',
  403: 'Your role does not allow this.',
  404: 'The hub does not know this (404).',
  429: 'Too many attempts; wait a moment.',
  503: 'The hub is not ready (503).',
};

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      credentials: 'same-origin',
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(
      0,
      'The hub cannot be reached; check the network. Retrying will work once it is back.',
    );
  }
  if (response.ok) return response;
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  const retryAfter = response.headers.get('retry-after');
  const words =
    typeof message === 'string'
      ? message
      : (STATUS_WORDS[response.status] ?? `The hub answered ${response.status} ${response.statusText}.`);
  throw new ApiError(response.status, retryAfter ? `${words} (retry in ${retryAfter} s)` : words, body);
}

export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(path, options);
  return (await response.json()) as T;
}

export async function sendJson<T>(
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<T> {
  const response = await request(path, { method, body, ...(headers ? { headers } : {}) });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
