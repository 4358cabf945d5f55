import type { ErrorCode } from '@edgewire/protocol';

/**
 * Why a publish or subscription failed: the hub's own error codes (SPEC "Frames"), or one of the
 * client's: no connection to send on, the connection ended before the answer, no answer in time,
 * or input the client refused before sending.
 */
export type ClientErrorCode =
  | ErrorCode
  | 'not_connected'
  | 'connection_lost'
  | 'timeout'
  | 'invalid'
  | 'closed';

export class EdgewireError extends Error {
  override readonly name = 'EdgewireError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}
