/**
 * A text message framed once for every recipient, like gorilla/websocket's PreparedMessage: frames
 * from a server are unmasked, so the bytes on the wire are the same for all subscribers, and fan-out
 * becomes one buffer written to many sockets instead of one frame built per socket.
 */
export class PreparedMessage {
  #wire: Buffer | undefined;

  constructor(readonly payload: Buffer) {}

  static fromText(text: string): PreparedMessage {
    return new PreparedMessage(Buffer.from(text));
  }

  /** The complete WebSocket frame (RFC 6455 §5.2): FIN, opcode text, unmasked length, payload. */
  get wire(): Buffer {
    if (this.#wire) return this.#wire;
    const length = this.payload.length;
    const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const wire = Buffer.allocUnsafe(headerLength + length);
    wire[0] = 0x81;
    if (length < 126) {
      wire[1] = length;
    } else if (length < 65536) {
      wire[1] = 126;
      wire.writeUInt16BE(length, 2);
    } else {
      wire[1] = 127;
      wire.writeBigUInt64BE(BigInt(length), 2);
    }
    this.payload.copy(wire, headerLength);
    this.#wire = wire;
    return wire;
  }
}
