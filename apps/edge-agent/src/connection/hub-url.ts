/**
 * The hub's address as users write it, made into the one the agent connects to. People paste what
 * their browser or the hub's log shows (`http://hub:8080`, `https://hub/ws`, even a whole
 * `…/ws/device/pi-1`); each of those names the same hub, so the agent accepts them all and connects
 * to `{ws|wss}://host[/prefix]/ws/device/{deviceId}`, instead of failing with a 404 on `/ws/ws/device/…`.
 */

/** The WebSocket paths of the hub (SPEC "WebSocket endpoints") that may end a pasted URL. */
const HUB_PATH_SUFFIX = /\/ws(?:\/device(?:\/[^/]*)?)?\/*$/;

export class HubUrlError extends Error {
  override name = 'HubUrlError';
}

/**
 * `http:` → `ws:`, `https:` → `wss:`; a trailing `/ws`, `/ws/device` or `/ws/device/{id}` and trailing
 * slashes removed. Throws HubUrlError (a message without the URL's secrets) for anything that is not
 * a hub's base URL.
 */
export function normaliseHubUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not echoed: a mistyped URL may still hold a password.
    throw new HubUrlError('not a URL; expected one like wss://hub.example.com');
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new HubUrlError(`expected a ws://, wss://, http:// or https:// URL, got ${url.protocol}//`);
  }
  // Credentials travel only in the Authorization header, never in a URL that ends up in logs.
  if (url.username || url.password || url.search) {
    throw new HubUrlError('must not carry credentials or a query; the token comes from EDGEWIRE_TOKEN');
  }
  if (url.hash) throw new HubUrlError('must not carry a #fragment');
  url.pathname = url.pathname.replace(HUB_PATH_SUFFIX, '').replace(/\/+$/, '');
  // URL keeps a lone "/" for an empty path; the base URL is written without it.
  return url.toString().replace(/\/$/, '');
}

/** `{base}/ws/device/{deviceId}` for a base URL in any of the forms `normaliseHubUrl` accepts. */
export function deviceSocketUrl(hubUrl: string, deviceId: string): string {
  return `${normaliseHubUrl(hubUrl)}/ws/device/${encodeURIComponent(deviceId)}`;
}
