/** The `edgewire-agent` command as a user runs it, as a child process. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createTestDatabase,
  startTestHub,
  type TestDatabase,
  type TestHub,
  waitFor,
} from '@edgewire/hub/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../src/agent.js';
import { parseConfig } from '../src/config.js';
import { captureLogs } from './support/log-capture.js';
import { PtyPair } from './support/pty-pair.js';
import { tempDir } from './support/temp-dir.js';

const exec = promisify(execFile);
// The sources, as `pnpm agent` runs them: a bin would run a dist/ left from an older build.
const cliSource = join(import.meta.dirname, '..', 'src', 'cli.ts');
const dir = tempDir('agent-cli-');

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await exec(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', cliSource, ...args],
      {
        env: { PATH: process.env.PATH, ...env },
        timeout: 30_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function configFile(text: string): string {
  const path = join(dir, `agent-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
}

describe('edgewire-agent CLI', () => {
  let testDb: TestDatabase;
  let hub: TestHub;
  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    hub = await startTestHub({ databaseUrl: testDb.url });
  });
  afterAll(async () => {
    await hub?.close();
    await testDb?.drop();
  });

  it('has --help for the program and every command', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/run\b.*\n.*check\b/s);
    expect(top.stdout).toContain('EDGEWIRE_TOKEN');
    for (const command of ['run', 'check']) {
      const help = await cli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--config <path>');
      expect(help.stdout).toContain('/etc/edgewire/agent.yaml');
    }
  });

  it('run: a config error names the key and exits 78, so systemd does not restart in a loop', async () => {
    const path = configFile('deviceId: pi-1\nhub:\n  url: ws://127.0.0.1:1\nbuffer:\n  maxBytes: lots\n');
    const result = await cli(['run', '--config', path], { EDGEWIRE_TOKEN: 'tok_cli_secret' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(`${path}:5: buffer.maxBytes: expected a size like 64MB`);
  });

  it('run: refuses to start without EDGEWIRE_TOKEN', async () => {
    const path = configFile(`deviceId: pi-1\nhub:\n  url: ${hub.url}\n`);
    const result = await cli(['run', '--config', path]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('EDGEWIRE_TOKEN is not set');
  });

  it('check: says what works and what does not, and exits 1 when something fails', async () => {
    const { token } = await hub.admin.addDevice('pi-check');
    const path = configFile(`deviceId: pi-check
hub:
  url: ${hub.url}
buffer:
  path: ${join(dir, 'check', 'buffer.db')}
sensors:
  - type: system
  - type: simulated
    signals: [{ metric: temperature }]
  - type: serial
    name: weather
    path: ${join(dir, 'no-such-tty')}
    parser: { format: json }
`);
    const good = await cli(['check', '--config', path], { EDGEWIRE_TOKEN: token });
    expect(good.code).toBe(1);
    expect(good.stdout).toMatch(/^ok {4}config: device pi-check, 3 sensor\(s\)$/m);
    expect(good.stdout).toMatch(/^ok {4}buffer .*: 0 reading\(s\) waiting/m);
    expect(good.stdout).toMatch(/^ok {4}sensor system \(system\): .*load1=/m);
    expect(good.stdout).toMatch(/^ok {4}sensor simulated \(simulated\): 1 simulated signal/m);
    expect(good.stdout).toMatch(/^FAIL {2}sensor weather \(serial\): .*no-such-tty/m);
    expect(good.stdout).toMatch(/^ok {4}hub ws:\/\/127\.0\.0\.1:\d+\/ws\/device\/pi-check: token accepted/m);
    expect(good.stdout + good.stderr).not.toContain(token);

    const refused = await cli(['check', '--config', path], { EDGEWIRE_TOKEN: 'tok_wrong' });
    expect(refused.stdout).toMatch(/^FAIL {2}hub .*: token refused \(HTTP 401\)$/m);
  });
  it('check: leaves a running agent alone, and reports its connection instead', async () => {
    const { token } = await hub.admin.addDevice('pi-running');
    const pty = new PtyPair(mkdtempSync(join(dir, 'pty-')));
    await pty.plug();
    const config = {
      deviceId: 'pi-running',
      hub: { url: hub.url },
      buffer: { path: join(dir, 'running', 'buffer.db') },
      sensors: [{ type: 'serial', name: 'weather', path: pty.agentPath, parser: { format: 'json' } }],
    };
    const logs = captureLogs('info');
    const agent = await startAgent(parseConfig(config), { token, logger: logs.logger });
    try {
      await waitFor(
        'the agent connected, its port open',
        () => agent.state === 'CONNECTED' && logs.lines.some((l) => l.msg === 'serial port open'),
      );
      const path = configFile(JSON.stringify(config));
      const check = await cli(['check', '--config', path], { EDGEWIRE_TOKEN: token });
      expect(check.stdout).toMatch(new RegExp(`^ok {4}agent: running \\(pid ${process.pid}\\)`, 'm'));
      expect(check.stdout).toMatch(
        /^ok {4}sensor weather \(serial\): .*ttyAgent not opened: the running agent holds it$/m,
      );
      expect(check.stdout).toMatch(
        /^ok {4}hub ws:.*\/ws\/device\/pi-running: the running agent is connected/m,
      );
      expect(check.code).toBe(0);
      // The agent kept its connection: a check that connected as the device would have replaced it (4009).
      pty.write('{"t": 1}\n');
      await waitFor('a reading acknowledged after the check', () => agent.stats().ackedSeq > 0);
      expect(logs.lines.filter((l) => l.msg === 'hub connection RETRYING')).toEqual([]);
      expect(logs.lines.filter((l) => l.msg === 'serial port unavailable; reopening')).toEqual([]);

      // A second agent on the same buffer would send everything twice: it is refused.
      await expect(startAgent(parseConfig(config), { token, logger: captureLogs().logger })).rejects.toThrow(
        `another agent (pid ${process.pid}, device pi-running) is running with this buffer`,
      );
    } finally {
      await agent.close();
      await pty.unplug();
    }
    // Once the agent stopped, check connects as the device again.
    const alone = await cli(['check', '--config', configFile(JSON.stringify({ ...config, sensors: [] }))], {
      EDGEWIRE_TOKEN: token,
    });
    expect(alone.stdout).not.toContain('agent: running');
    expect(alone.stdout).toMatch(/^ok {4}hub .*: token accepted/m);
  });
});
