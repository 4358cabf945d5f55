/**
 * The deployment files, checked with the tools a Pi uses: systemd-analyze for the unit, and the
 * installer run for real against a temporary root (its own passwd, group and systemd tree).
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { tempDir } from './support/temp-dir.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..', '..');
const unitPath = join(repo, 'infra', 'systemd', 'edgewire-agent.service');
const installer = join(repo, 'infra', 'edge', 'install.sh');
const unitText = readFileSync(unitPath, 'utf8');

/** A root with the distribution's own units, an executable where ExecStart points, and `unit` installed. */
function systemdRoot(unit: string): string {
  const root = tempDir('agent-unit-');
  mkdirSync(join(root, 'usr', 'lib', 'systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true });
  mkdirSync(join(root, 'usr', 'local', 'bin'), { recursive: true });
  writeFileSync(join(root, 'usr', 'local', 'bin', 'edgewire-agent'), '#!/bin/sh\n', { mode: 0o755 });
  mkdirSync(join(root, 'etc', 'systemd', 'system'), { recursive: true });
  writeFileSync(join(root, 'etc', 'systemd', 'system', 'edgewire-agent.service'), unit);
  return root;
}

async function verify(unit: string): Promise<string> {
  const root = systemdRoot(unit);
  const { stdout, stderr } = await run(
    'systemd-analyze',
    ['verify', `--root=${root}`, 'edgewire-agent.service'],
    { cwd: root },
  );
  return stdout + stderr;
}

describe('systemd unit', () => {
  it('passes systemd-analyze verify without a single complaint', async () => {
    expect(await verify(unitText)).toBe('');
  });

  it('the same check does complain about a broken unit', async () => {
    const output = await verify(
      unitText.replace('WatchdogSec=60', 'WatchdogSec=soon').replace('Type=notify', 'Type=notifyish'),
    );
    expect(output).toContain('Failed to parse sec value');
    expect(output).toContain('Failed to parse service type');
  });

  it('restarts always, runs as edgewire in gpio and dialout, keeps state, notifies, and is hardened', () => {
    for (const line of [
      'Restart=always',
      'User=edgewire',
      'SupplementaryGroups=gpio dialout',
      'EnvironmentFile=/etc/edgewire/agent.env',
      'StateDirectory=edgewire',
      'Type=notify',
      'NotifyAccess=all',
      'WatchdogSec=60',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
    ]) {
      expect(unitText.split('\n')).toContain(line);
    }
  });

  it('rates as well protected by systemd-analyze security', async () => {
    const root = systemdRoot(unitText);
    const { stdout } = await run(
      'systemd-analyze',
      ['security', '--offline=true', `--root=${root}`, 'edgewire-agent.service'],
      {
        cwd: root,
      },
    ).catch((error: { stdout: string }) => error);
    const exposure = Number(/Overall exposure level for edgewire-agent\.service: ([\d.]+)/.exec(stdout)?.[1]);
    expect(exposure).toBeLessThan(3);
  });
});

function installRoot(): string {
  const root = tempDir('agent-install-');
  mkdirSync(join(root, 'etc'));
  for (const file of ['passwd', 'group', 'shadow', 'gshadow'])
    copyFileSync(`/etc/${file}`, join(root, 'etc', file));
  return root;
}

async function install(root: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const { stdout } = await run('bash', [installer, '--root', root, ...args], {
    env: { PATH: process.env.PATH, ...env },
  });
  return stdout;
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const owner = (path: string) => `${statSync(path).uid}:${statSync(path).gid}`;

describe('install.sh', () => {
  it('installs user, directories, config, token file, unit and enables it; a second run changes nothing', async () => {
    const root = installRoot();
    const tokenFile = join(root, 'token.txt');
    writeFileSync(tokenFile, 'tok_first\n');
    const first = await install(root, [
      '--hub-url',
      'wss://hub.example.com',
      '--device-id',
      'pi-kitchen',
      '--token-file',
      tokenFile,
    ]);
    expect(first).toContain('created   user edgewire');

    const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8');
    const entry = passwd.split('\n').find((l) => l.startsWith('edgewire:'))!;
    expect(entry).toMatch(/:\/usr\/sbin\/nologin$/);
    const [, , uid, gid] = entry.split(':');
    const group = readFileSync(join(root, 'etc', 'group'), 'utf8');
    expect(group).toMatch(/^gpio:x:\d+:(.*,)?edgewire(,.*)?$/m);
    expect(group).toMatch(/^dialout:x:\d+:(.*,)?edgewire(,.*)?$/m);
    // The machine's own users are untouched.
    expect(readFileSync('/etc/passwd', 'utf8')).not.toContain('edgewire agent');

    const etc = join(root, 'etc', 'edgewire');
    expect([mode(etc), owner(etc)]).toEqual(['750', `0:${gid}`]);
    expect([mode(join(etc, 'agent.env')), owner(join(etc, 'agent.env'))]).toEqual(['600', '0:0']);
    expect(readFileSync(join(etc, 'agent.env'), 'utf8')).toBe('EDGEWIRE_TOKEN=tok_first\n');
    expect([mode(join(etc, 'agent.yaml')), owner(join(etc, 'agent.yaml'))]).toEqual(['640', `0:${gid}`]);
    const state = join(root, 'var', 'lib', 'edgewire');
    expect([mode(state), owner(state)]).toEqual(['750', `${uid}:${gid}`]);

    // The config it writes is one the agent accepts, and it holds no token.
    const config = loadConfig(join(etc, 'agent.yaml'));
    expect(config).toMatchObject({ deviceId: 'pi-kitchen', hub: { url: 'wss://hub.example.com' } });
    expect(readFileSync(join(etc, 'agent.yaml'), 'utf8')).not.toContain('tok_first');

    expect(readlinkSync(join(root, 'usr', 'local', 'bin', 'edgewire-agent'))).toBe(
      join(repo, 'apps', 'edge-agent', 'bin', 'edgewire-agent.js'),
    );
    expect(readFileSync(join(root, 'etc', 'systemd', 'system', 'edgewire-agent.service'), 'utf8')).toBe(
      unitText,
    );
    expect(
      readlinkSync(
        join(root, 'etc', 'systemd', 'system', 'multi-user.target.wants', 'edgewire-agent.service'),
      ),
    ).toBe('/etc/systemd/system/edgewire-agent.service');

    const second = await install(root, []);
    const actions = second
      .split('\n')
      .filter((l) => l.startsWith('  '))
      .map((l) => l.trim().split(/\s+/)[0]);
    expect(new Set(actions)).toEqual(new Set(['kept', 'enabled']));
  });

  it('replaces the token when given a new one, and keeps the config', async () => {
    const root = installRoot();
    await install(root, ['--hub-url', 'ws://hub:8080', '--device-id', 'pi-1'], { EDGEWIRE_TOKEN: 'tok_old' });
    const output = await install(root, [], { EDGEWIRE_TOKEN: 'tok_new' });
    expect(output).toMatch(/updated\s+\S+agent\.env/);
    expect(output).toMatch(/kept\s+\S+agent\.yaml/);
    expect(readFileSync(join(root, 'etc', 'edgewire', 'agent.env'), 'utf8')).toBe('EDGEWIRE_TOKEN=tok_new\n');
    expect(mode(join(root, 'etc', 'edgewire', 'agent.env'))).toBe('600');
  });

  it('refuses to install without a token, saying where to get one', async () => {
    const error = await install(installRoot(), ['--hub-url', 'ws://hub:8080']).catch(
      (e: { stderr: string }) => e,
    );
    expect((error as { stderr: string }).stderr).toContain('no token');
  });

  it('has --help', () => {
    expect(execFileSync('bash', [installer, '--help']).toString()).toContain('--token-file FILE');
  });
});
