/**
 * pino to stdout: JSON for journald, pretty lines when a person is watching (a TTY or
 * NODE_ENV=development). Keys that could carry a credential are redacted as a second line of defence;
 * the first is never handing the token to a log call.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true || process.env.NODE_ENV === 'development');
  return pino({
    name: 'edgewire-agent',
    level,
    redact: {
      paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
  });
}
