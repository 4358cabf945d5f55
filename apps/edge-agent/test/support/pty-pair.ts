/**
 * A linked pair of real pseudo-terminals from socat: the agent opens one end as its serial port, the
 * test writes sensor lines into the other. Killing socat is pulling the cable; starting it again with
 * the same link names is plugging it back in.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@edgewire/hub/test-support';

export class PtyPair {
  /** The end the agent opens. */
  readonly agentPath: string;
  /** The end the "sensor" writes to. */
  readonly devicePath: string;
  private socat: ChildProcess | undefined;
  private deviceFd: number | undefined;

  constructor(dir: string) {
    this.agentPath = join(dir, 'ttyAgent');
    this.devicePath = join(dir, 'ttyDevice');
  }

  async plug(): Promise<void> {
    rmSync(this.agentPath, { force: true });
    rmSync(this.devicePath, { force: true });
    this.socat = spawn(
      'socat',
      [`pty,raw,echo=0,link=${this.agentPath}`, `pty,raw,echo=0,link=${this.devicePath}`],
      { stdio: 'ignore' },
    );
    await waitFor('socat ptys', () => existsSync(this.agentPath) && existsSync(this.devicePath), 5000);
    this.deviceFd = openSync(this.devicePath, 'w');
  }

  write(text: string): void {
    if (this.deviceFd === undefined) throw new Error('the pty pair is unplugged');
    writeSync(this.deviceFd, text);
  }

  async unplug(): Promise<void> {
    if (this.deviceFd !== undefined) closeSync(this.deviceFd);
    this.deviceFd = undefined;
    const socat = this.socat;
    this.socat = undefined;
    if (!socat || socat.exitCode !== null) return;
    const exited = new Promise((resolve) => socat.once('exit', resolve));
    socat.kill('SIGKILL');
    await exited;
  }
}
