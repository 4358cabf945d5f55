/**
 * `edgewire-hub`: run the hub, migrate, and manage devices, tokens, operators and admin API tokens
 * (SPEC "Running").
 * Management commands go through the running hub when there is one (PGlite admits a single process,
 * and only the hub can close the connections a change affects); otherwise straight to the database.
 */
import { userInfo } from 'node:os';
import {
  type Access,
  accessSchema,
  filterError,
  type Permission,
  passwordSchema,
  type Role,
  roleSchema,
  userNameSchema,
} from '@edgewire/protocol';
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { HttpAdminClient, isHubDown } from './admin/admin-client.js';
import { type AdminApi, AdminService, createAdminParts } from './admin/admin-service.js';
import { readLocalAdmin } from './admin/local-admin.js';
import { MemoryBus } from './bus/memory-bus.js';
import { RedisBus } from './bus/redis-bus.js';
import { type HubConfig, loadConfig } from './config.js';
import { openMigratedDatabase, startHub } from './hub.js';
import { createLogger } from './logger.js';
import { readPassword } from './operators/password-input.js';

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

function parseRole(text: string): Role {
  const parsed = roleSchema.safeParse(text);
  if (!parsed.success) throw new InvalidArgumentError('expected admin or viewer');
  return parsed.data;
}

function parseUserName(text: string): string {
  const parsed = userNameSchema.safeParse(text);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]!.message);
  return text;
}

/** The new password from `--password-file` (`-`: standard input) or, on a terminal, asked twice. */
async function newPassword(file: string | undefined): Promise<string> {
  const password = await readPassword(file);
  const checked = passwordSchema.safeParse(password);
  if (!checked.success) throw new Error(`password: ${checked.error.issues[0]!.message}`);
  return password;
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
  const database = await openMigratedDatabase(config, logger);
  try {
    // With Redis, hubs running elsewhere hear the change and close the connections it affects.
    const bus = config.redisUrl
      ? await RedisBus.connect(config.redisUrl, config.redisPrefix, logger)
      : new MemoryBus();
    try {
      const parts = createAdminParts(database, bus, { scryptLog2N: config.passwordScryptLog2N });
      return await work(new AdminService(parts, { name: `cli:${userInfo().username}` }));
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
      const database = await openMigratedDatabase(config, logger);
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

  const user = program
    .command('user')
    .description('manage operators (who sign in to the dashboard and the API)');
  user
    .command('add')
    .description('create an operator; the password comes from a prompt or --password-file')
    .argument('<name>', 'user name: letters, digits, ".", "_", "@" or "-"', parseUserName)
    .requiredOption('--role <role>', 'admin (may change things) or viewer', parseRole)
    .option('--password-file <file>', 'read the password from the first line of a file (- for stdin)')
    .action(async (name: string, options: { role: Role; passwordFile?: string }) => {
      const password = await newPassword(options.passwordFile);
      await withAdmin((admin) => admin.addUser(name, options.role, password));
      process.stdout.write(`Operator ${name} (${options.role}) created.\n`);
    });
  user
    .command('passwd')
    .description("set an operator's password; their sessions end")
    .argument('<name>', 'user name', parseUserName)
    .option('--password-file <file>', 'read the password from the first line of a file (- for stdin)')
    .action(async (name: string, options: { passwordFile?: string }) => {
      const password = await newPassword(options.passwordFile);
      await withAdmin((admin) => admin.editUser(name, { password }));
      process.stdout.write(`Password of ${name} changed; their sessions have ended.\n`);
    });
  user
    .command('role')
    .description("change an operator's role; their sessions end")
    .argument('<name>', 'user name', parseUserName)
    .argument('<role>', 'admin or viewer', parseRole)
    .action(async (name: string, role: Role) => {
      await withAdmin((admin) => admin.editUser(name, { role }));
      process.stdout.write(`${name} is now ${role}; their sessions have ended.\n`);
    });
  user
    .command('rm')
    .description('remove an operator; their sessions end and their WebSockets close with 4003')
    .argument('<name>', 'user name', parseUserName)
    .action(async (name: string) => {
      await withAdmin((admin) => admin.removeUser(name));
      process.stdout.write(`Operator ${name} removed.\n`);
    });
  user
    .command('ls')
    .alias('list')
    .description('list operators')
    .option('--json', 'print a JSON array')
    .action(async (options: { json?: boolean }) => {
      const users = await withAdmin((admin) => admin.listUsers());
      if (options.json) process.stdout.write(`${JSON.stringify(users)}\n`);
      else for (const u of users) process.stdout.write(`${u.name}\t${u.role}\tsince ${u.createdAt}\n`);
    });

  const apiToken = program
    .command('apitoken')
    .description("manage admin API tokens (Bearer credentials with an admin's rights, for scripts and CI)");
  apiToken
    .command('add')
    .description('create an admin API token and print it once')
    .argument('<name>', 'what it is for, e.g. "ci-deploy"')
    .option('--json', 'print {"id","token"} as JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const issued = await withAdmin((admin) => admin.addApiToken(name));
      printIssued(issued, options.json === true, 'Admin API token');
    });
  apiToken
    .command('ls')
    .alias('list')
    .description('list admin API tokens (never the secret)')
    .option('--json', 'print a JSON array')
    .action(async (options: { json?: boolean }) => {
      const tokens = await withAdmin((admin) => admin.listApiTokens());
      if (options.json) process.stdout.write(`${JSON.stringify(tokens)}\n`);
      else
        for (const t of tokens) {
          const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : 'active';
          process.stdout.write(`${t.id}\t${t.name}\t${state}\tcreated by ${t.createdBy}\n`);
        }
    });
  apiToken
    .command('revoke')
    .description('revoke an admin API token')
    .argument('<id>', 'token id (apt_...)')
    .action(async (id: string) => {
      await withAdmin((admin) => admin.revokeApiToken(id));
      process.stdout.write(`Admin API token ${id} revoked.\n`);
    });
  return program;
}

buildCli()
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`edgewire-hub: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
