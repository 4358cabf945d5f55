/** The hub's systemd unit, checked with systemd's own tools as a server would load it. */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';

const run = promisify(execFile);
const UNIT = 'edgewire-hub.service';
const unitText = readFileSync(new URL(`../../../infra/systemd/${UNIT}`, import.meta.url), 'utf8');

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A root with the distribution's units, an executable where ExecStart points, and `unit` installed. */
function systemdRoot(unit: string): string {
  const root = mkdtempSync(join(tmpdir(), 'hub-unit-'));
  roots.push(root);
  mkdirSync(join(root, 'usr', 'lib', 'systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true });
  mkdirSync(join(root, 'usr', 'local', 'bin'), { recursive: true });
  writeFileSync(join(root, 'usr', 'local', 'bin', 'edgewire-hub'), '#!/bin/sh\n', { mode: 0o755 });
  mkdirSync(join(root, 'etc', 'systemd', 'system'), { recursive: true });
  writeFileSync(join(root, 'etc', 'systemd', 'system', UNIT), unit);
  return root;
}

async function analyze(command: string[], unit: string): Promise<string> {
  const root = systemdRoot(unit);
  const { stdout, stderr } = await run('systemd-analyze', [...command, `--root=${root}`, UNIT], {
    cwd: root,
  });
  return stdout + stderr;
}

it('passes systemd-analyze verify without a single complaint', async () => {
  expect(await analyze(['verify'], unitText)).toBe('');
});

it('the same check does complain about a broken unit', async () => {
  const output = await analyze(['verify'], unitText.replace('Type=exec', 'Type=execish'));
  expect(output).toContain('Failed to parse service type');
});

it('runs as its own unprivileged user, writes only its state directory, stops gracefully', () => {
  const lines = unitText.split('\n');
  for (const line of [
    'ExecStart=/usr/local/bin/edgewire-hub serve',
    'DynamicUser=yes',
    'StateDirectory=edgewire-hub',
    'Environment=EDGEWIRE_DATA_DIR=/var/lib/edgewire-hub',
    'EnvironmentFile=-/etc/edgewire/hub.env',
    'KillSignal=SIGTERM',
    'CapabilityBoundingSet=',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
  ]) {
    expect(lines).toContain(line);
  }
});

it('rates as well protected by systemd-analyze security', async () => {
  const output = await analyze(['security', '--offline=true'], unitText);
  const exposure = Number(/Overall exposure level for edgewire-hub\.service: ([\d.]+)/.exec(output)?.[1]);
  expect(exposure).toBeLessThan(2);
});
