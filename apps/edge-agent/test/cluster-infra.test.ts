/**
 * infra/cluster, the production recipe: the compose file describes what it claims (TimescaleDB, Redis,
 * three hubs, HAProxy), every reference in it points at something real, the hubs accept its settings,
 * and HAProxy accepts its configuration with the addresses compose gives it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '@edgewire/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeCertificates, type TestCertificates } from '../../hub/test/tls.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLUSTER = `${ROOT}infra/cluster/`;

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  command?: string[];
}

const compose = parse(readFileSync(`${CLUSTER}compose.yaml`, 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const hubs = ['hub-1', 'hub-2', 'hub-3'];
/** compose's `${VAR:?message}` with the value an operator puts in .env. */
const substitute = (text: string) => text.replace(/\$\{POSTGRES_PASSWORD:\?[^}]*\}/g, 'secret');

describe('compose.yaml', () => {
  it('runs TimescaleDB, Redis 7, three hubs built from this repository, and HAProxy', () => {
    expect(Object.keys(services).sort()).toEqual([
      'haproxy',
      'hub-1',
      'hub-2',
      'hub-3',
      'redis',
      'timescaledb',
    ]);
    expect(services.timescaledb!.image).toMatch(/^timescale\/timescaledb:[\w.-]+-pg\d+$/);
    expect(services.redis!.image).toMatch(/^redis:7/);
    expect(services.haproxy!.image).toMatch(/^haproxy:/);
    for (const hub of hubs) {
      const build = services[hub]!.build!;
      expect(existsSync(`${CLUSTER}${build.context}/package.json`)).toBe(true);
      const dockerfile = readFileSync(`${CLUSTER}${build.context}/${build.dockerfile}`, 'utf8');
      // The image runs what the build produces: apps/hub's tsc output of src/cli.ts.
      expect(dockerfile).toContain('"apps/hub/dist/cli.js", "serve"');
      expect(existsSync(`${ROOT}apps/hub/src/cli.ts`)).toBe(true);
    }
  });

  it('refers only to services, files and settings that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      const deps = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {});
      for (const dep of deps) expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
      expect(service.healthcheck, `${name} has a healthcheck`).toBeDefined();
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(`${CLUSTER}${source}`), volume).toBe(true);
      }
    }
    for (const hub of hubs) {
      const env = Object.fromEntries(
        Object.entries(services[hub]!.environment!).map(([key, value]) => [key, substitute(String(value))]),
      );
      // The hub itself validates the settings (and names the first bad one).
      const config = loadConfig(env);
      expect(config.databaseUrl).toBe('postgres://edgewire:secret@timescaledb:5432/edgewire');
      expect(new URL(config.redisUrl!).hostname).toBe('redis');
      expect(services[hub]!.expose).toEqual([String(config.port)]);
      expect(services[hub]!.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${config.port}/readyz`);
      expect(services.haproxy!.environment![`EDGEWIRE_HUB_${hub.at(-1)}`]).toBe(`${hub}:${config.port}`);
    }
    const password = services.timescaledb!.environment!.POSTGRES_PASSWORD!;
    expect(password).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
  });
});

describe('haproxy.cfg', () => {
  let certs: TestCertificates;
  beforeAll(async () => {
    certs = await makeCertificates();
  });
  afterAll(() => certs?.remove());

  it('is valid for HAProxy with the environment compose gives it, and uses every variable it sets', async () => {
    const cfg = readFileSync(`${CLUSTER}haproxy.cfg`, 'utf8');
    const env = {
      ...services.haproxy!.environment!,
      EDGEWIRE_LB_CERT: certs.pemBundleFile,
      EDGEWIRE_LB_BIND: '127.0.0.1:17443',
    };
    const used = new Set([...cfg.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(env).sort());
    // Hub names resolve only inside compose's network; their syntax is what is checked here.
    const local = {
      ...env,
      EDGEWIRE_HUB_1: '127.0.0.1:1',
      EDGEWIRE_HUB_2: '127.0.0.1:2',
      EDGEWIRE_HUB_3: '127.0.0.1:3',
    };
    const { stdout, stderr } = await run('haproxy', ['-c', '-f', `${CLUSTER}haproxy.cfg`], {
      env: { ...process.env, ...local },
    });
    expect(`${stdout}${stderr}`).toMatch(/Configuration file is valid/);
    expect(cfg).toMatch(/option httpchk GET \/readyz/);
    expect(cfg).toMatch(/timeout tunnel 1h/);
  });
});
