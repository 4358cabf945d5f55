/**
 * Reading the hub's frames by shape. The hub's frames are produced from the protocol's schemas; the
 * client checks only what it relies on, so that a browser does not carry a schema library in the
 * first page it loads (the protocol's zod schemas stay with the hub and the agent).
 */
import type { AckFrame, ErrorFrame, MsgFrame, ServerFrame, WelcomeFrame } from '@edgewire/protocol';

const isRef = (v: unknown) => v === undefined || typeof v === 'string' || typeof v === 'number';
const isPosition = (v: unknown) =>
  v !== null &&
  typeof v === 'object' &&
  typeof (v as { epoch?: unknown }).epoch === 'string' &&
  Number.isInteger((v as { offset?: unknown }).offset);
const isPositions = (v: unknown) =>
  v === undefined ||
  (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isPosition));

/** The frame, typed, or a sentence saying what is wrong with it. */
export function readServerFrame(raw: unknown): ServerFrame | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'frame must be a JSON object';
  const f = raw as Record<string, unknown>;
  switch (f.type) {
    case 'msg':
      if (typeof f.topic !== 'string') return 'msg: topic must be a string';
      if (typeof f.ts !== 'number') return 'msg: ts must be a number';
      return f as unknown as MsgFrame;
    case 'ack':
      if (!isRef(f.ref)) return 'ack: ref must be a string or number';
      // The client sends these back as `since`: a malformed one would only earn a refusal later.
      if (!isPositions(f.positions)) return 'ack: positions must map filters to {epoch, offset}';
      return f as unknown as AckFrame;
    case 'error':
      if (typeof f.code !== 'string' || typeof f.message !== 'string')
        return 'error: code and message must be strings';
      if (!isRef(f.ref)) return 'error: ref must be a string or number';
      return f as unknown as ErrorFrame;
    case 'welcome':
      if (typeof f.conn !== 'string') return 'welcome: conn must be a string';
      if (typeof f.heartbeatSec !== 'number' || f.heartbeatSec <= 0)
        return 'welcome: heartbeatSec must be a positive number';
      if (!Array.isArray(f.permissions)) return 'welcome: permissions must be an array';
      return f as unknown as WelcomeFrame;
    default:
      return `unknown frame type ${JSON.stringify(f.type)}`;
  }
}
