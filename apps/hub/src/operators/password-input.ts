/**
 * Reading a new password for the CLI: from the first line of a file (`-`: standard input), or typed
 * twice at a terminal without echo. Never from an argument, where `ps` and shell history would keep it.
 */
import { readFileSync } from 'node:fs';

function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  let value = '';
  return new Promise((resolve, reject) => {
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export async function readPassword(file: string | undefined): Promise<string> {
  if (file !== undefined) {
    const text = readFileSync(file === '-' ? 0 : file, 'utf8');
    return text.split(/\r?\n/, 1)[0] ?? '';
  }
  if (!process.stdin.isTTY) {
    throw new Error(
      'no terminal to ask for the password: use --password-file <file> (or - for standard input)',
    );
  }
  const first = await readHidden('Password: ');
  const second = await readHidden('Again: ');
  if (first !== second) throw new Error('password: the two entries differ');
  return first;
}
