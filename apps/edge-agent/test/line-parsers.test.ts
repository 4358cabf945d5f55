import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLineParser } from '../src/sensors/serial/line-parsers.js';

const TS = 1_700_000_000_000;
/** Builds a parser from config exactly as a user writes it, defaults included. */
function parserFor(parser: unknown) {
  const config = parseConfig({
    deviceId: 'pi',
    hub: { url: 'ws://h' },
    sensors: [{ type: 'serial', parser }],
  });
  const sensor = config.sensors[0]!;
  if (sensor.type !== 'serial') throw new Error('expected a serial sensor');
  return createLineParser(sensor.parser);
}

describe('serial line parsers', () => {
  it('json: every numeric field becomes a reading; text fields are ignored, booleans count as 0/1', () => {
    const parse = parserFor({ format: 'json' });
    expect(parse('{"temp": 21.5, "hum": 40, "door": true, "fw": "1.2"}', TS)).toEqual([
      { metric: 'temp', value: 21.5, ts: TS },
      { metric: 'hum', value: 40, ts: TS },
      { metric: 'door', value: 1, ts: TS },
    ]);
    expect(parse('not json', TS)).toEqual([]);
    expect(parse('[1,2]', TS)).toEqual([]);
  });

  it('json with fields: only mapped fields, renamed, scaled and with units', () => {
    const parse = parserFor({
      format: 'json',
      fields: {
        t: { metric: 'temperature', unit: '°C', scale: 0.1 },
        p: { metric: 'pressure', unit: 'hPa', offset: 1000 },
      },
    });
    expect(parse('{"t": 215, "p": 13.25, "uptime": 99}', TS)).toEqual([
      { metric: 'temperature', value: 21.5, unit: '°C', ts: TS },
      { metric: 'pressure', value: 1013.25, unit: 'hPa', ts: TS },
    ]);
  });

  it('kv: key=value pairs separated by spaces, commas or semicolons', () => {
    const parse = parserFor({ format: 'kv' });
    expect(parse('temp=21.5 hum=40,co2=612;bad=abc noise', TS)).toEqual([
      { metric: 'temp', value: 21.5, ts: TS },
      { metric: 'hum', value: 40, ts: TS },
      { metric: 'co2', value: 612, ts: TS },
    ]);
  });

  it('regex: named groups are the fields', () => {
    const parse = parserFor({
      format: 'regex',
      pattern: '^T:(?<temp>-?[\\d.]+)C H:(?<hum>[\\d.]+)%$',
      fields: { temp: { unit: '°C' }, hum: { metric: 'humidity', unit: '%' } },
    });
    expect(parse('T:-3.5C H:81%', TS)).toEqual([
      { metric: 'temp', value: -3.5, unit: '°C', ts: TS },
      { metric: 'humidity', value: 81, unit: '%', ts: TS },
    ]);
    expect(parse('garbage', TS)).toEqual([]);
  });
});
