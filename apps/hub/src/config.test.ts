import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies SPEC defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: './.edgewire',
      heartbeatSec: 20,
      maxFrameBytes: 65536,
      logLevel: 'info',
      perMessageDeflate: false,
      trustProxy: false,
      deviceConnectsPerMinute: 15,
      historyMaxPoints: 20_000,
      maxMetricsPerDevice: 1000,
    });
    expect(config.databaseUrl).toBeUndefined();
  });

  it('reads the environment', () => {
    const config = loadConfig({
      EDGEWIRE_PORT: '9000',
      EDGEWIRE_HEARTBEAT_SEC: '0.5',
      EDGEWIRE_PERMESSAGE_DEFLATE: 'true',
    });
    expect(config.port).toBe(9000);
    expect(config.heartbeatSec).toBe(0.5);
    expect(config.perMessageDeflate).toBe(true);
  });

  it.each([
    ['EDGEWIRE_PORT', '70000'],
    ['EDGEWIRE_HEARTBEAT_SEC', 'soon'],
    ['EDGEWIRE_MAX_FRAME_BYTES', '-1'],
    ['EDGEWIRE_LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'not a url'],
    ['EDGEWIRE_HISTORY_MAX_POINTS', '0'],
    ['EDGEWIRE_MAX_METRICS_PER_DEVICE', 'many'],
  ])('stops on a bad %s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it('never echoes a bad value, which may hold a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres//app:hunter2@db' })).toThrow(
      /^DATABASE_URL: (?!.*hunter2)/,
    );
  });
});
