import { describe, expect, it } from 'vitest';
import { addDeviceBodySchema, labelsSchema, patchTokenBodySchema } from './admin.js';
import {
  adminEventSchema,
  adminTopics,
  auditQuerySchema,
  deviceListQuerySchema,
  passwordSchema,
  userNameSchema,
} from './operators.js';
import { filterError, matches, topicError } from './topics.js';

describe('operator schemas', () => {
  it('states the password rule in words and keeps no upper surprise', () => {
    expect(passwordSchema.safeParse('short').error?.issues[0]?.message).toBe(
      'must be at least 12 characters',
    );
    expect(passwordSchema.safeParse('correct horse battery').success).toBe(true);
  });

  it('accepts user names usable as a topic level and refuses the rest', () => {
    for (const name of ['ada', 'ops.team', 'a@b', 'x_1-2'])
      expect(userNameSchema.safeParse(name).success).toBe(true);
    for (const name of ['', 'a/b', '#', '+', '-lead', 'x'.repeat(65)]) {
      expect(userNameSchema.safeParse(name).success, name).toBe(false);
    }
  });

  it('checks label keys and values, and their number', () => {
    expect(labelsSchema.safeParse({ site: 'north wing', 'rack.row': '12' }).success).toBe(true);
    expect(labelsSchema.safeParse({ 'bad key': 'x' }).success).toBe(false);
    expect(labelsSchema.safeParse({ k: 'no\nnewlines' }).success).toBe(false);
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    expect(labelsSchema.safeParse(many).success).toBe(false);
    expect(addDeviceBodySchema.safeParse({ id: 'pi-1', labels: { site: 'n' } }).success).toBe(true);
  });

  it('parses list and audit queries from text, naming the bad field', () => {
    expect(deviceListQuerySchema.parse({ label: 'site=north' }).label).toEqual(['site=north']);
    expect(deviceListQuerySchema.parse({}).label).toEqual([]);
    expect(auditQuerySchema.parse({ before: '42', limit: '10' })).toEqual({ before: 42, limit: 10 });
    expect(auditQuerySchema.safeParse({ limit: '1000' }).error?.issues[0]?.path).toEqual(['limit']);
    expect(patchTokenBodySchema.safeParse({ maxConnections: null, expiresAt: null }).success).toBe(true);
    expect(patchTokenBodySchema.safeParse({ secret: 'x' }).success).toBe(false);
  });

  it('publishes admin events on $ topics that plain wildcards do not reach', () => {
    const topic = adminTopics.device('pi-1');
    expect(topicError(topic)).toBeNull();
    expect(filterError(adminTopics.all)).toBeNull();
    expect(matches(adminTopics.all, topic)).toBe(true);
    expect(matches('#', topic)).toBe(false);
    expect(
      adminEventSchema.safeParse({
        resource: 'device',
        id: 'pi-1',
        action: 'updated',
        version: 2,
        by: 'user:ada',
        at: new Date().toISOString(),
      }).success,
    ).toBe(true);
  });
});
