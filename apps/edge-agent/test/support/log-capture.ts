/** A real pino logger whose JSON lines are kept for assertions (what an operator would read in journald). */
import { Writable } from 'node:stream';
import { pino } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function captureLogs(level = 'debug') {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const text of chunk.toString().split('\n')) {
        if (!text) continue;
        raw.push(text);
        lines.push(JSON.parse(text) as LogLine);
      }
      done();
    },
  });
  const logger = pino({ level }, stream);
  return { logger, lines, text: () => raw.join('\n') };
}
