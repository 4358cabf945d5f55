/**
 * Child process for the kill -9 test: appends readings numbered 0, 1, 2 … as fast as the group commit
 * takes them and prints, after each commit, the highest number that commit made durable.
 */
import { ReadingBuffer } from '../../src/buffer/reading-buffer.js';

const buffer = new ReadingBuffer({ path: process.argv[2]!, maxBytes: 1e9, flushIntervalMs: 20 });
let next = 0;
let appended = -1;
buffer.onFlushed(() => process.stdout.write(`committed ${appended}\n`));
setInterval(() => {
  const batch = [];
  for (let i = 0; i < 200; i++)
    batch.push({ metric: 'counter', value: next++, ts: 1_700_000_000_000 + next });
  buffer.append(batch);
  appended = next - 1;
}, 2);
