/**
 * One error answer for every HTTP route: `{"error": <status>, "message": "<field>: <problem>"}`, the
 * current resource added to a 412, `Retry-After` on a 429; anything unexpected is logged and answered
 * as a bare 500, never with a stack trace or a secret.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { StaleVersionError } from '../errors.js';
import { etagOf } from './api-route.js';

export async function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode;
  if (error instanceof StaleVersionError) {
    reply.header('etag', etagOf(error.current.version));
    return reply.code(412).send({ error: 412, message: error.message, current: error.current });
  }
  if (status === undefined || status < 400 || status >= 500) {
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 500, message: 'internal error' });
  }
  const retryAfter = (error as { retryAfterSec?: number }).retryAfterSec;
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  // Fastify's own refusals (malformed JSON, wrong content type, too large) concern the body.
  const message = error.code?.startsWith('FST_') ? `body: ${error.message}` : error.message;
  return reply.code(status).send({ error: status, message });
}
