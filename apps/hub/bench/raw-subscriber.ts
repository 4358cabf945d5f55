/**
 * A deliberately minimal WebSocket client for the load generator's subscribers: it performs the
 * upgrade by hand and splits server frames without copying or emitting events, so that one core can
 * take in the hub's full fan-out and the generator is not what limits the figures. It understands
 * only what a hub sends a subscriber: unfragmented text frames, ping (answered) and close.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;

export class RawSubscriber {
  #pending: Buffer = Buffer.alloc(0);
  #onMessage: (payload: Buffer) => void = () => {};

  private constructor(private readonly socket: Socket) {}

  /** Connects, upgrades with `headers`, and resolves after the hub's `welcome`. */
  static open(url: string, headers: Record<string, string>): Promise<RawSubscriber> {
    const { hostname, port, pathname } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port), noDelay: true });
    const subscriber = new RawSubscriber(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        const lines = [
          `GET ${pathname} HTTP/1.1`,
          `Host: ${hostname}:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
          ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
        ];
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      });
      let head = Buffer.alloc(0);
      const onHead = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        const status = head.toString('latin1', 0, end).split(' ')[1];
        if (status !== '101') {
          socket.destroy();
          reject(new Error(`refused with ${status}`));
          return;
        }
        subscriber.#onMessage = () => {
          subscriber.#onMessage = () => {};
          resolve(subscriber);
        };
        socket.on('data', (data: Buffer) => subscriber.#receive(data));
        subscriber.#receive(head.subarray(end + 4));
      };
      socket.on('data', onHead);
    });
  }

  /** Replaces the handler of text messages (each payload is a view into the received bytes). */
  onMessage(handler: (payload: Buffer) => void): void {
    this.#onMessage = handler;
  }

  close(): void {
    this.socket.destroy();
  }

  #receive(data: Buffer): void {
    let buffer = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    let offset = 0;
    for (;;) {
      if (buffer.length - offset < 2) break;
      const opcode = buffer[offset]! & 0x0f;
      let length = buffer[offset + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buffer.length - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (buffer.length - offset < 10) break;
        length = Number(buffer.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (buffer.length - offset < header + length) break;
      const payload = buffer.subarray(offset + header, offset + header + length);
      offset += header + length;
      if (opcode === OPCODE_TEXT) this.#onMessage(payload);
      else if (opcode === OPCODE_PING) this.#pong(payload);
      else if (opcode === OPCODE_CLOSE) this.socket.end();
    }
    buffer = buffer.subarray(offset);
    this.#pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
  }

  /** Client frames must be masked; an all-zero mask leaves the payload as it is. */
  #pong(payload: Buffer): void {
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x80 | 0xa;
    frame[1] = 0x80 | payload.length;
    payload.copy(frame, 6);
    this.socket.write(frame);
  }
}
