import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, tokenFromEnvironment } from '../src/config.js';
import { tempDir } from './support/temp-dir.js';

const dir = tempDir('agent-config-');
let n = 0;
function file(text: string): string {
  const path = join(dir, `agent-${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const minimal = 'deviceId: pi-1\nhub:\n  url: ws://hub.local:8080\n';

describe('agent config', () => {
  it('fills defaults for everything but the device id and hub url', () => {
    const config = loadConfig(file(minimal));
    expect(config.deviceId).toBe('pi-1');
    expect(config.buffer.path).toBe('/var/lib/edgewire/buffer.db');
    expect(config.buffer.maxBytes).toBe(64_000_000);
    expect(config.connection.initialBackoffMs).toBe(1000);
    expect(config.connection.maxBackoffMs).toBe(60_000);
    expect(config.delivery.maxFrameBytes).toBe(65_536);
  });

  it('accepts sizes with units and every sensor kind', () => {
    const config = loadConfig(
      file(`${minimal}buffer:
  maxBytes: 16MiB
sensors:
  - type: system
  - type: simulated
    signals: [{ metric: temperature, unit: °C, min: 18, max: 24 }]
  - type: serial
    parser: { format: regex, pattern: 'T=(?<temp>[-\\d.]+)' }
  - type: gpio
    inputs: [{ pin: 17, metric: door }]
    outputs: [{ pin: 27, command: relay }]
`),
    );
    expect(config.buffer.maxBytes).toBe(16 * 1024 * 1024);
    expect(config.sensors.map((s) => s.type)).toEqual(['system', 'simulated', 'serial', 'gpio']);
    const serial = config.sensors[2];
    expect(serial?.type === 'serial' && serial.path).toBe('/dev/serial0');
  });

  it('names the key and the line of a wrong value', () => {
    const path = file(`${minimal}sensors:
  - type: serial
    baudRate: fast
    parser: { format: json }
`);
    const message = errorOf(() => loadConfig(path));
    expect(message).toContain('sensors[0].baudRate');
    expect(message).toContain(`${path}:6: sensors[0].baudRate`);
  });

  it('refuses a unit the hub would refuse (a spreadsheet formula), naming the key', () => {
    const path = file(`${minimal}sensors:
  - type: simulated
    signals: [{ metric: temperature, unit: '=HYPERLINK("http://x")', min: 18, max: 24 }]
`);
    expect(errorOf(() => loadConfig(path))).toMatch(
      /sensors\[0\]\.signals\[0\]\.unit: expected 1-32 letters/,
    );
  });

  it('names a missing required key', () => {
    const message = errorOf(() => loadConfig(file('hub:\n  url: ws://hub:8080\n')));
    expect(message).toMatch(/deviceId: required/);
  });

  it('names an unknown key instead of ignoring a typo', () => {
    const message = errorOf(() => loadConfig(file(`${minimal}bufer:\n  maxBytes: 1MB\n`)));
    expect(message).toContain('unknown key "bufer"');
  });

  it('names an unknown sensor type', () => {
    const message = errorOf(() =>
      parseConfig({ deviceId: 'pi-1', hub: { url: 'ws://h' }, sensors: [{ type: 'i2c' }] }),
    );
    expect(message).toContain('sensors[0].type');
  });

  it('refuses a regex without named groups, naming the key', () => {
    const message = errorOf(() =>
      parseConfig({
        deviceId: 'pi-1',
        hub: { url: 'ws://h' },
        sensors: [{ type: 'serial', parser: { format: 'regex', pattern: '\\d+' } }],
      }),
    );
    expect(message).toContain('sensors[0].parser.pattern: needs at least one named group');
  });

  it('refuses a token in the config file, wherever it is', () => {
    expect(errorOf(() => loadConfig(file(`${minimal}  token: abc\n`)))).toMatch(
      /hub\.token: the token must not be in the config file/,
    );
    expect(errorOf(() => parseConfig({ deviceId: 'pi-1', token: 'x', hub: { url: 'ws://h' } }))).toContain(
      'EDGEWIRE_TOKEN',
    );
  });

  it('refuses credentials in the hub URL without echoing them', () => {
    const message = errorOf(() =>
      parseConfig({ deviceId: 'pi-1', hub: { url: 'wss://u:s3cret@hub/?token=s3cret' } }),
    );
    expect(message).toContain('hub.url');
    expect(message).not.toContain('s3cret');
  });

  it.each([
    ['http://hub.local:8080', 'ws://hub.local:8080'],
    ['https://hub.example.com/', 'wss://hub.example.com'],
    ['wss://hub.example.com/ws', 'wss://hub.example.com'],
    ['https://example.com/edgewire/ws/', 'wss://example.com/edgewire'],
    ['ws://hub.local:8080/ws/device/pi-1', 'ws://hub.local:8080'],
    ['ws://hub.local/wsx', 'ws://hub.local/wsx'],
  ])('normalises the hub URL %s to the base URL %s', (given, base) => {
    expect(parseConfig({ deviceId: 'pi-1', hub: { url: given } }).hub.url).toBe(base);
  });

  it('refuses a hub URL that is not a WebSocket or HTTP URL, naming the key', () => {
    expect(errorOf(() => parseConfig({ deviceId: 'pi-1', hub: { url: 'ftp://hub.local' } }))).toMatch(
      /hub\.url: expected a ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ URL, got ftp:/,
    );
    const message = errorOf(() => parseConfig({ deviceId: 'pi-1', hub: { url: '//hub.local:8080 s3cret' } }));
    expect(message).toMatch(/hub\.url: not a URL/);
    expect(message).not.toContain('s3cret');
  });

  it('refuses an invalid device id and bad YAML with a line number', () => {
    expect(errorOf(() => parseConfig({ deviceId: '-bad', hub: { url: 'ws://h' } }))).toContain('deviceId');
    expect(errorOf(() => loadConfig(file('deviceId: [unclosed\n')))).toMatch(
      /agent-\d+\.yaml:\d+: not valid YAML/,
    );
  });

  it('takes the token from EDGEWIRE_TOKEN only, and says where to put it when missing', () => {
    expect(tokenFromEnvironment({ EDGEWIRE_TOKEN: ' abc\n' })).toBe('abc');
    expect(errorOf(() => tokenFromEnvironment({}))).toContain('/etc/edgewire/agent.env');
  });

  it('accepts the example in the README, every sensor kind included', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const example = /## Configuration\s+```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const config = loadConfig(file(example!));
    expect(config.sensors.map((s) => s.type)).toEqual(['system', 'simulated', 'serial', 'gpio']);
  });
});
