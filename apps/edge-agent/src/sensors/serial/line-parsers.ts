/**
 * Turning one line from a serial sensor into readings. Three formats cover most microcontroller
 * firmware: JSON lines, `key=value` lines and anything else through a regex with named groups. Each
 * field can be renamed, given a unit and scaled (value × scale + offset), e.g. tenths of a degree.
 */
import type { Reading } from '@edgewire/protocol';
import type { FieldMapping, LineParserConfig } from '../../config.js';

export type LineParser = (line: string, ts: number) => Reading[];

type Fields = Record<string, FieldMapping> | undefined;

function toReadings(values: Iterable<[string, number]>, fields: Fields, ts: number): Reading[] {
  const readings: Reading[] = [];
  for (const [key, raw] of values) {
    const mapping = fields?.[key];
    // With a mapping, only the mapped fields count: the firmware may print counters nobody wants stored.
    if (fields && !mapping) continue;
    if (!Number.isFinite(raw)) continue;
    const reading: Reading = {
      metric: mapping?.metric ?? key,
      // 12 significant digits: 215 × 0.1 is 21.5, not 21.500000000000004.
      value: Number((raw * (mapping?.scale ?? 1) + (mapping?.offset ?? 0)).toPrecision(12)),
      ts,
    };
    if (mapping?.unit) reading.unit = mapping.unit;
    readings.push(reading);
  }
  return readings;
}

function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function* jsonFields(line: string): Generator<[string, number]> {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string') continue;
    const n = numeric(value);
    if (n !== undefined) yield [key, n];
  }
}

function* kvFields(line: string): Generator<[string, number]> {
  for (const pair of line.split(/[\s,;]+/)) {
    const m = /^([^=:]+)[=:](.+)$/.exec(pair);
    if (!m) continue;
    const n = numeric(m[2]);
    if (n !== undefined) yield [m[1]!, n];
  }
}

function* regexFields(re: RegExp, line: string): Generator<[string, number]> {
  const groups = re.exec(line)?.groups;
  if (!groups) return;
  for (const [key, value] of Object.entries(groups)) {
    const n = numeric(value);
    if (n !== undefined) yield [key, n];
  }
}

export function createLineParser(config: LineParserConfig): LineParser {
  switch (config.format) {
    case 'json':
      return (line, ts) => toReadings(jsonFields(line), config.fields, ts);
    case 'kv':
      return (line, ts) => toReadings(kvFields(line), config.fields, ts);
    case 'regex': {
      const re = new RegExp(config.pattern);
      return (line, ts) => toReadings(regexFields(re, line), config.fields, ts);
    }
  }
}
