/**
 * WebSocket subprotocols a client may offer in the handshake. Apart from the schemas (no zod here), so
 * that a browser bundle naming one does not carry the schema library.
 */

/**
 * Batched frames: each text frame from the hub is a JSON array of one or more hub → client frames, in
 * order, instead of a single object (docs/protocol.md, "Batched frames"). Opt-in, so that devices and
 * clients that do not offer it see one frame per message as before.
 */
export const BATCH_SUBPROTOCOL = 'edgewire.batch.v1';
