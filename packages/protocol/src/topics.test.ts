import { describe, expect, it } from 'vitest';
import {
  contains,
  filterError,
  isValidFilter,
  isValidTopic,
  matches,
  reservedTopicWriter,
  topicError,
} from './topics.js';

describe('topic and filter validation', () => {
  it('accepts the shapes MQTT allows', () => {
    for (const t of ['a', 'a/b/c', '/finance', 'a//b', 'finance/', '$SYS/broker', 'sport/tennis/player1']) {
      expect(topicError(t), t).toBeNull();
    }
    for (const f of ['#', '+', '+/+', '/+', 'sport/#', 'sport/+/player1', '+/tennis/#', 'a//b', '$SYS/#']) {
      expect(filterError(f), f).toBeNull();
    }
  });

  it('refuses wildcards in published topics', () => {
    expect(topicError('sport/+')).toMatch(/wildcards/);
    expect(topicError('sport/#')).toMatch(/wildcards/);
    expect(isValidTopic('a/b+')).toBe(false);
  });

  it('refuses misplaced wildcards in filters (MQTT examples)', () => {
    expect(filterError('sport/tennis#')).toMatch(/whole level/);
    expect(filterError('sport/tennis/#/ranking')).toMatch(/last level/);
    expect(filterError('sport+')).toMatch(/whole level/);
    expect(filterError('#/a')).toMatch(/last level/);
  });

  it('refuses empty, NUL, over-long and over-deep names with the reason', () => {
    expect(topicError('')).toMatch(/empty/);
    expect(topicError(42)).toMatch(/string/);
    expect(topicError('a\u0000b')).toMatch(/NUL/);
    expect(topicError('x'.repeat(1025))).toMatch(/1024 bytes/);
    // 342 three-byte characters are 1026 bytes although only 342 UTF-16 units.
    expect(topicError('€'.repeat(342))).toMatch(/1024 bytes/);
    expect(topicError('x'.repeat(1024))).toBeNull();
    expect(topicError(Array(33).fill('a').join('/'))).toMatch(/32 levels/);
    expect(topicError(Array(32).fill('a').join('/'))).toBeNull();
    expect(isValidFilter(Array(33).fill('+').join('/'))).toBe(false);
  });
});

describe('matches (MQTT specification examples)', () => {
  it('# matches the parent and any number of child levels', () => {
    const f = 'sport/tennis/player1/#';
    expect(matches(f, 'sport/tennis/player1')).toBe(true);
    expect(matches(f, 'sport/tennis/player1/ranking')).toBe(true);
    expect(matches(f, 'sport/tennis/player1/score/wimbledon')).toBe(true);
    expect(matches(f, 'sport/tennis/player2')).toBe(false);
    expect(matches('sport/#', 'sport')).toBe(true);
    expect(matches('#', 'anything/at/all')).toBe(true);
  });

  it('+ matches exactly one level, empty levels included', () => {
    expect(matches('sport/tennis/+', 'sport/tennis/player1')).toBe(true);
    expect(matches('sport/tennis/+', 'sport/tennis/player1/ranking')).toBe(false);
    expect(matches('sport/+', 'sport')).toBe(false);
    expect(matches('sport/+', 'sport/')).toBe(true);
    expect(matches('+/+', '/finance')).toBe(true);
    expect(matches('/+', '/finance')).toBe(true);
    expect(matches('+', '/finance')).toBe(false);
  });

  it('wildcards in the first level do not match $ topics', () => {
    expect(matches('#', '$SYS/broker/clients')).toBe(false);
    expect(matches('+/monitor/Clients', '$SYS/monitor/Clients')).toBe(false);
    expect(matches('$SYS/#', '$SYS/monitor/Clients')).toBe(true);
    expect(matches('$SYS/monitor/+', '$SYS/monitor/Clients')).toBe(true);
  });

  it('routes telemetry of every device to devices/+/telemetry/#', () => {
    expect(matches('devices/+/telemetry/#', 'devices/pi-1/telemetry/temp')).toBe(true);
    expect(matches('devices/+/telemetry/#', 'devices/pi-1/status')).toBe(false);
  });
});

describe('contains (may a grant on outer subscribe to inner?)', () => {
  it('answers the permission questions operators ask', () => {
    expect(contains('devices/#', 'devices/pi-1/telemetry/+')).toBe(true);
    expect(contains('devices/+/telemetry/#', 'devices/pi-1/telemetry/temp')).toBe(true);
    expect(contains('devices/pi-1/#', 'devices/+/telemetry/#')).toBe(false);
    expect(contains('devices/+/status', 'devices/#')).toBe(false);
    expect(contains('a/+', 'a/#')).toBe(false);
    expect(contains('a/#', 'a')).toBe(true);
    expect(contains('a/+/#', 'a/#')).toBe(false);
    expect(contains('a/b', 'a/b')).toBe(true);
    expect(contains('a/b', 'a/+')).toBe(false);
    // Every topic has a first level, so these two grants cover the same topics.
    expect(contains('+/#', '#')).toBe(true);
    expect(contains('+/+/#', '#')).toBe(false);
  });

  it('keeps $ topics out of first-level wildcard grants', () => {
    expect(contains('#', '$SYS/#')).toBe(false);
    expect(contains('+/x', '$SYS/x')).toBe(false);
    expect(contains('#', '+/x')).toBe(true);
    expect(contains('$SYS/#', '$SYS/monitor/+')).toBe(true);
  });
});

describe('reservedTopicWriter (who alone may pub to a reserved topic)', () => {
  it('reserves $ topics, device telemetry and status for the hub', () => {
    for (const topic of [
      '$SYS/load',
      '$admin/tokens',
      'devices/pi-1/telemetry/temp',
      'devices/pi-1/telemetry',
      'devices/pi-1/telemetry/a/b',
      'devices/pi-1/status',
      'devices/pi-1/status/extra',
    ]) {
      expect(reservedTopicWriter(topic), topic).toEqual({ writer: 'hub' });
    }
  });

  it('reserves command results and the command list for the device they belong to', () => {
    for (const topic of ['devices/pi-1/cmd-result/reboot', 'devices/pi-1/cmd-list']) {
      expect(reservedTopicWriter(topic), topic).toEqual({ writer: 'device', deviceId: 'pi-1' });
    }
  });

  it('leaves other topics, commands included, to grants', () => {
    for (const topic of [
      'devices/pi-1/cmd/reboot',
      'devices/pi-1',
      'devices',
      'plant/telemetry/x',
      'a$/b',
      'devices//x',
    ]) {
      expect(reservedTopicWriter(topic), topic).toBeNull();
    }
  });
});
