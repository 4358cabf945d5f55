/**
 * The hub's pino logger: JSON lines in production, pino-pretty for people (a TTY or
 * NODE_ENV=development). Requests are logged without their query string, which is where a careless
 * client puts credentials.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'edgewire-hub' },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.token'], censor: '[redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string; ip?: string }) => ({
        method: req.method,
        path: req.url?.split('?')[0],
        address: req.ip,
      }),
    },
  };
  if (destination) return pino(options, destination);
  const pretty = process.stdout.isTTY || process.env.NODE_ENV === 'development';
  // In this thread, not as a transport: a transport is a worker thread, a whole second JavaScript heap
  // (tens of MB) for the few lines a terminal shows.
  if (pretty) return pino(options, pinoPretty({ colorize: true, sync: true }));
  return pino(options);
}
