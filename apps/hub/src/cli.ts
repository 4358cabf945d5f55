/**
 * `edgewire-hub`: run the hub, migrate, and manage devices and tokens (SPEC "Running").
 * Management commands go through the running hub when there is one (PGlite admits a single process,
 * and only the hub can close the connections a change affects); otherwise straight to the database.
 */
import { type Access, accessSchema, filterError, type Permission } from '@edgewire/protocol';
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { HttpAdminClient, isHubDown } from './admin/admin-client.js';
import { type AdminApi, AdminService } from './admin/admin-service.js';
import { readLocalAdmin } from './admin/local-admin.js';
import { TokenStore } from './auth/token-store.js';
import { MemoryBus } from './bus/memory-bus.js';
import { RedisBus } from './bus/redis-bus.js';
import { type HubConfig, loadConfig } from './config.js';
import { openMigratedDatabase, startHub } from './hub.js';
import { createLogger } from './logger.js';

function parseGrant(text: string, previous: Permission[] = []): Permission[] {
  const at = text.lastIndexOf(':');
  const filter = at > 0 ? text.slice(0, at) : '';
  const access = text.slice(at + 1);
  if (at <= 0 || !accessSchema.safeParse(access).success) {
    throw new InvalidArgumentError(
      'expected <filter>:read or <filter>:readwrite, e.g. devices/+/telemetry/#:read',
    );
  }
  const problem = filterError(filter);
  if (problem) throw new InvalidArgumentError(problem);
  return [...previous, { filter, access: access as Access }];
}

function parsePositiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('expected a positive integer');
  return value;
}

function parseDate(text: string): Date {
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError('expected an ISO-8601 date-time, e.g. 2027-01-31T00:00:00Z');
  }
  return date;
}

/** Runs `work` against the running hub if there is one, else directly against the database. */
async function withAdmin<T>(work: (admin: AdminApi) => Promise<T>): Promise<T> {
  const config: HubConfig = loadConfig();
  const local = config.dataDir ? readLocalAdmin(config.dataDir) : undefined;
  if (local) {
    try {
      return await work(new HttpAdminClient(local));
    } catch (error) {
      if (!isHubDown(error)) throw error;
    }
  }
  const logger = pino({ level: 'warn' });
  const { database } = await openMigratedDatabase(config, logger);
  try {
    // With Redis, hubs running elsewhere hear the change and close the connections it affects.
    const bus = config.redisUrl
      ? await RedisBus.connect(config.redisUrl, config.redisPrefix, logger)
      : new MemoryBus();
    try {
      return await work(new AdminService(new TokenStore(database), bus));
    } finally {
      await bus.close();
    }
  } finally {
    await database.close();
  }
}

function printIssued(issued: { id: string; token: string }, json: boolean, what: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ id: issued.id, token: issued.token })}\n`);
    return;
  }
  process.stdout.write(
    `${what} ${issued.id} created. Its token is shown this once; store it now:\n${issued.token}\n`,
  );
}

export function buildCli(): Command {
  const program = new Command('edgewire-hub')
    .description('The edgewire hub: authenticated WebSocket broker for devices and dashboards.')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nSettings come from the environment: EDGEWIRE_HOST, EDGEWIRE_PORT, DATABASE_URL, EDGEWIRE_DATA_DIR,\nREDIS_URL, EDGEWIRE_HEARTBEAT_SEC, EDGEWIRE_MAX_FRAME_BYTES, EDGEWIRE_LOG_LEVEL (see README).',
    );

  program
    .command('serve')
    .description('run the hub (applies pending migrations first)')
    .action(async () => {
      const hub = await startHub();
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        hub.logger.info({ signal }, 'signal received');
        hub.close().then(
          () => process.exit(0),
          (error: unknown) => {
            hub.logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      const { database } = await openMigratedDatabase(config, logger);
      await database.close();
      logger.info('database is up to date');
    });

  const device = program.command('device').description('manage devices');
  device
    .command('add')
    .description('register a device and print its token once')
    .argument('<id>', 'device id: letters, digits, ".", "_" or "-"')
    .option('--json', 'print {"id","token"} as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const issued = await withAdmin((admin) => admin.addDevice(id));
      printIssued(issued, options.json === true, 'Device');
    });
  device
    .command('rm')
    .description('delete a device; its live connection closes with 4003')
    .argument('<id>', 'device id')
    .action(async (id: string) => {
      await withAdmin((admin) => admin.removeDevice(id));
      process.stdout.write(`Device ${id} deleted.\n`);
    });

  const token = program.command('token').description('manage client tokens');
  token
    .command('add')
    .description('create a client token and print it once')
    .requiredOption('--allow <filter:access>', 'grant read or readwrite on a filter (repeatable)', parseGrant)
    .option('--max-connections <n>', 'most live connections at once', parsePositiveInt)
    .option('--expires <iso>', 'expiry, ISO-8601 date-time', parseDate)
    .option('--json', 'print {"id","token"} as JSON')
    .action(
      async (options: { allow: Permission[]; maxConnections?: number; expires?: Date; json?: boolean }) => {
        const issued = await withAdmin((admin) =>
          admin.addToken({
            permissions: options.allow,
            maxConnections: options.maxConnections,
            expiresAt: options.expires,
          }),
        );
        printIssued(issued, options.json === true, 'Token');
      },
    );
  token
    .command('revoke')
    .description('revoke a token; its live connections close with 4003')
    .argument('<id>', 'token id (tok_...)')
    .action(async (id: string) => {
      await withAdmin((admin) => admin.revokeToken(id));
      process.stdout.write(`Token ${id} revoked.\n`);
    });
  return program;
}

buildCli()
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`edgewire-hub: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
