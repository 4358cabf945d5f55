/**
 * Errors a request can end with, each carrying the HTTP status it answers with (Fastify reads
 * `statusCode`). Their messages are shown to the caller: `<field>: <problem>` where a field is at
 * fault, and never a secret.
 */
export class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export class InvalidRequestError extends RequestError {
  override name = 'InvalidRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

export class NotFoundError extends RequestError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

export class ConflictError extends RequestError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(409, message);
  }
}

/** An edit made against an old version (`If-Match`); carries the current resource to show instead. */
export class StaleVersionError extends RequestError {
  override name = 'StaleVersionError';
  constructor(
    readonly current: { version: number } & Record<string, unknown>,
    what: string,
  ) {
    super(412, `If-Match: ${what} has changed since; its current version is ${current.version}`);
  }
}

/** A unique-constraint violation, whichever driver reported it. */
export const isDuplicate = (error: unknown): boolean =>
  (error as { code?: string })?.code === '23505' ||
  (error as { cause?: { code?: string } })?.cause?.code === '23505';
