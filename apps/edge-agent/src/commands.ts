/**
 * Commands from the hub (`devices/{id}/cmd/{name}`, delivered without a subscription) and their
 * answers, published to `devices/{id}/cmd-result/{name}` (cross-team contract, "Commands"). Every
 * command gets exactly one answer, an unknown one included, so the operator is never left waiting.
 */
import { type CommandList, type MsgFrame, topics } from '@edgewire/protocol';
import type { Logger } from './logger.js';

/** Runs a command with its payload; resolves to the result, or throws with a message for the operator. */
export type CommandHandler = (payload: unknown) => Promise<Record<string, unknown>> | Record<string, unknown>;

export class CommandRouter {
  private readonly handlers = new Map<string, CommandHandler>();
  private readonly prefix: string;

  constructor(
    private readonly deviceId: string,
    private readonly logger: Logger,
    private readonly publish: (text: string) => boolean,
  ) {
    this.prefix = `devices/${deviceId}/cmd/`;
  }

  register(name: string, handler: CommandHandler): void {
    if (this.handlers.has(name)) throw new Error(`command ${JSON.stringify(name)} is configured twice`);
    this.handlers.set(name, handler);
  }

  get names(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * Publishes the names of the commands this agent answers, retained, so that an operator's screen
   * shows them without being told; sent on every connection, since the configuration may have changed.
   */
  advertise(): void {
    const payload: CommandList = { commands: this.names.sort() };
    const frame = { type: 'pub', topic: topics.commandList(this.deviceId), payload, retain: true };
    if (!this.publish(JSON.stringify(frame))) {
      this.logger.warn('could not advertise the commands: not connected');
    }
  }

  /** Handles a `msg` frame if it is a command for this device; returns whether it was one. */
  handle(frame: MsgFrame): boolean {
    if (!frame.topic.startsWith(this.prefix)) return false;
    const name = frame.topic.slice(this.prefix.length);
    void this.run(name, frame.payload);
    return true;
  }

  private async run(name: string, payload: unknown): Promise<void> {
    const ref =
      payload !== null && typeof payload === 'object' && 'id' in payload
        ? (payload as { id: unknown }).id
        : undefined;
    const handler = this.handlers.get(name);
    let result: Record<string, unknown>;
    if (!handler) {
      result = {
        ok: false,
        error: `unknown command ${JSON.stringify(name)}; known: ${this.names.join(', ') || 'none'}`,
      };
    } else {
      try {
        result = { ok: true, ...(await handler(payload)) };
      } catch (error) {
        result = { ok: false, error: (error as Error).message };
      }
    }
    this.logger.info({ command: name, ok: result.ok, error: result.error }, 'command handled');
    const answer = {
      type: 'pub',
      topic: topics.commandResult(this.deviceId, name),
      payload: { ...result, ...(ref === undefined ? {} : { ref }), at: new Date().toISOString() },
    };
    if (!this.publish(JSON.stringify(answer))) {
      this.logger.warn({ command: name }, 'could not send a command result: not connected');
    }
  }
}
