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

  it('has a safe default for every abuse limit', () => {
    expect(loadConfig({})).toMatchObject({
      subscribeRate: 20,
      maxSubscriptions: 256,
      maxSubscriptionBytes: 512 * 1024,
      maxSubscriptionsPerToken: 4096,
      maxSubscriptionBytesPerToken: 8 * 1024 * 1024,
      invalidFrameTolerance: 50,
      logSummarySec: 10,
      logSummaryBurst: 10,
      apiRatePerAddress: 50,
      apiAuthFailuresPerMinute: 30,
      maxConnectionsPerAddress: 10_000,
      handshakeTimeoutMs: 10_000,
    });
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
    ['EDGEWIRE_MAX_SUBSCRIPTIONS', '0'],
    ['EDGEWIRE_MAX_SUBSCRIPTION_BYTES', '100'],
    ['EDGEWIRE_SUBSCRIBE_RATE', 'fast'],
    ['EDGEWIRE_INVALID_FRAME_TOLERANCE', '1.5'],
    ['EDGEWIRE_LOG_SUMMARY_SEC', '0'],
    ['EDGEWIRE_API_RATE', '-5'],
    ['EDGEWIRE_API_AUTH_FAILURES', 'many'],
    ['EDGEWIRE_MAX_CONNECTIONS_PER_ADDRESS', '0'],
    ['EDGEWIRE_HANDSHAKE_TIMEOUT_MS', '10'],
    ['EDGEWIRE_HISTORY_MAX_POINTS', '0'],
    ['EDGEWIRE_MAX_METRICS_PER_DEVICE', 'many'],
  ])('stops on a bad %s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it('reads trusted proxies as addresses and CIDRs, refusing anything else', () => {
    expect(
      loadConfig({ EDGEWIRE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8,loopback' }).trustProxy,
    ).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback']);
    expect(loadConfig({ EDGEWIRE_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(() => loadConfig({ EDGEWIRE_TRUST_PROXY: 'true' })).toThrow(
      /^EDGEWIRE_TRUST_PROXY: .*believe X-Forwarded-For from anyone/,
    );
    expect(() => loadConfig({ EDGEWIRE_TRUST_PROXY: '10.0.0.0/33' })).toThrow(
      /^EDGEWIRE_TRUST_PROXY: .*10\.0\.0\.0\/33/,
    );
    expect(() => loadConfig({ EDGEWIRE_TRUST_PROXY: 'proxy.local' })).toThrow(/^EDGEWIRE_TRUST_PROXY: /);
  });

  it('protects the hub with a global handshake rate and a generous per-address one', () => {
    const config = loadConfig({});
    expect(config.handshakeRate).toBe(1000);
    expect(config.handshakeRatePerAddress).toBe(500);
    expect(loadConfig({ EDGEWIRE_HANDSHAKE_RATE_PER_ADDRESS: '20' }).handshakeRatePerAddress).toBe(20);
  });

  it('never echoes a bad value, which may hold a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres//app:hunter2@db' })).toThrow(
      /^DATABASE_URL: (?!.*hunter2)/,
    );
  });
});
