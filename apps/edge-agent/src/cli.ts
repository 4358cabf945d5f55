/**
 * `edgewire-agent`: `run` the daemon, `check` an installation. The exit code 78 (EX_CONFIG) marks a
 * configuration problem; the systemd unit does not restart on it, since restarting cannot fix it.
 */
import { Command, Option } from 'commander';
import { startAgent } from './agent.js';
import { runChecks } from './check.js';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, tokenFromEnvironment } from './config.js';
import { createLogger } from './logger.js';
import { systemdNotifier } from './watchdog.js';

const EX_CONFIG = 78;

const configOption = () =>
  new Option('-c, --config <path>', 'agent config file (YAML)')
    .default(DEFAULT_CONFIG_PATH)
    .env('EDGEWIRE_CONFIG');

function failOnConfig(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`edgewire-agent: ${error.message}\n`);
    process.exit(EX_CONFIG);
  }
  throw error;
}

const program = new Command('edgewire-agent')
  .description(
    "Reads a Raspberry Pi's sensors and streams them to an edgewire hub without losing a reading.\n" +
      'The device token comes from the EDGEWIRE_TOKEN environment variable, never from the config file.',
  )
  .showHelpAfterError();

program
  .command('run')
  .description('run the agent until SIGTERM (this is what the systemd unit starts)')
  .addOption(configOption())
  .action(async (opts: { config: string }) => {
    let config: ReturnType<typeof loadConfig>;
    let token: string;
    try {
      config = loadConfig(opts.config);
      token = tokenFromEnvironment();
    } catch (error) {
      failOnConfig(error);
    }
    const logger = createLogger(process.env.EDGEWIRE_LOG_LEVEL ?? config.logLevel);
    const systemd = systemdNotifier(logger);
    let agent: Awaited<ReturnType<typeof startAgent>>;
    try {
      agent = await startAgent(config, {
        token,
        logger,
        onStateChange: (state) => systemd.status(`hub ${state}`),
      });
    } catch (error) {
      // E.g. the buffer directory is not writable; systemd restarts the agent, and the journal says why.
      logger.fatal({ problem: (error as Error).message }, 'the agent cannot start');
      process.exit(1);
    }
    systemd.ready(`hub ${agent.state}`);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      systemd.stop();
      await agent.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });

program
  .command('check')
  .description(
    'validate the config, open each sensor once, open the buffer and try the hub; exit 1 if anything fails',
  )
  .addOption(configOption())
  .option('--no-hub', 'do not check the hub connection')
  .action(async (opts: { config: string; hub: boolean }) => {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(opts.config);
    } catch (error) {
      failOnConfig(error);
    }
    const results = await runChecks(config, process.env.EDGEWIRE_TOKEN?.trim() || undefined, {
      hub: opts.hub,
    });
    for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.subject}: ${r.detail}\n`);
    process.exit(results.every((r) => r.ok) ? 0 : 1);
  });

await program.parseAsync(process.argv);
