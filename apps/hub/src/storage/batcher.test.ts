import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { countedDatabase } from '../../test/counted-database.js';
import { DRIVERS } from '../../test/databases.js';
import { textArray } from './array-literal.js';
import { AbandonedRequest, Batcher } from './batcher.js';

describe.each(DRIVERS)('batched statements on %s', (driver) => {
  const counted = countedDatabase(driver, (database) =>
    database.exec(`
      create table widgets (id text primary key, colour text not null, seen int not null default 0);
      insert into widgets (id, colour) select 'w' || i, case when i % 2 = 0 then 'red' else 'blue' end
      from generate_series(1, 500) i;`),
  );

  /** Colours by widget id, from one `= any($1)` statement per batch. */
  const colours = () =>
    new Batcher<string, undefined, string>(async (batch) => {
      const rows = await counted.database.rows<{ id: string; colour: string }>(
        sql`select id, colour from widgets where id = any(${textArray([...batch.keys()])}::text[])`,
      );
      return new Map(rows.map((r) => [r.id, r.colour]));
    });

  it('answers requests made together with one statement, each with its own row', async () => {
    const batcher = colours();
    const ids = [...Array.from({ length: 300 }, (_, i) => `w${i + 1}`), 'missing', 'w1'];
    const before = counted.statements;
    const answers = await Promise.all(ids.map((id) => batcher.submit(id, undefined)));
    expect(counted.statements - before).toBe(1);
    expect(answers.slice(0, 300)).toEqual(
      ids.slice(0, 300).map((_, i) => ((i + 1) % 2 === 0 ? 'red' : 'blue')),
    );
    expect(answers[300]).toBeUndefined();
    expect(answers[301]).toBe('blue');
  });

  it('sends requests made while a batch runs together in the next, and at most maxBatch at a time', async () => {
    let runs = 0;
    const sizes: number[] = [];
    const batcher = new Batcher<string, undefined, string>(
      async (batch) => {
        runs++;
        sizes.push(batch.size);
        const rows = await counted.database.rows<{ id: string; colour: string }>(
          sql`select id, colour from widgets where id = any(${textArray([...batch.keys()])}::text[])`,
        );
        return new Map(rows.map((r) => [r.id, r.colour]));
      },
      { maxBatch: 100 },
    );
    const first = batcher.submit('w1', undefined);
    // Wait until the first batch is on its way, then ask for 250 more.
    await new Promise((resolve) => setImmediate(resolve));
    const more = Array.from({ length: 250 }, (_, i) => batcher.submit(`w${i + 2}`, undefined));
    expect(await first).toBe('blue');
    expect((await Promise.all(more)).every((c) => c === 'red' || c === 'blue')).toBe(true);
    expect(sizes).toEqual([1, 100, 100, 50]);
    expect(runs).toBe(4);
  });

  it('writes many rows in one statement, merging what one key was asked twice, and drains before close', async () => {
    const bumps = new Batcher<string, number, never>(
      async (batch) => {
        const ids = [...batch.keys()];
        const by = ids.map((id) => String(batch.get(id)));
        await counted.database.rows(sql`
          update widgets w set seen = w.seen + b.by
          from unnest(${textArray(ids)}::text[], ${textArray(by)}::int[]) as b(id, by)
          where w.id = b.id`);
        return undefined;
      },
      { merge: (earlier, later) => earlier + later },
    );
    const before = counted.statements;
    for (let i = 1; i <= 200; i++) void bumps.submit(`w${i}`, 1);
    void bumps.submit('w1', 5);
    await bumps.drain();
    expect(counted.statements - before).toBe(1);
    const rows = await counted.database.rows<{ id: string; seen: number }>(
      `select id, seen from widgets where id in ('w1', 'w2', 'w200', 'w201') order by id`,
    );
    expect(rows).toEqual([
      { id: 'w1', seen: 6 },
      { id: 'w2', seen: 1 },
      { id: 'w200', seen: 1 },
      { id: 'w201', seen: 0 },
    ]);
  });

  it('leaves out requests no longer wanted, and fails every request of a batch whose statement failed', async () => {
    const batcher = colours();
    const before = counted.statements;
    const gone = batcher.submit('w1', undefined, () => false);
    const alsoGone = batcher.submit('w2', undefined, () => false);
    await expect(gone).rejects.toBeInstanceOf(AbandonedRequest);
    await expect(alsoGone).rejects.toBeInstanceOf(AbandonedRequest);
    expect(counted.statements - before).toBe(0);
    // A key wanted by one of its callers is still looked up for that one.
    const left = batcher.submit('w3', undefined, () => false);
    const stays = batcher.submit('w3', undefined, () => true);
    await expect(left).rejects.toBeInstanceOf(AbandonedRequest);
    expect(await stays).toBe('blue');

    const broken = new Batcher<string, undefined, string>(async () => {
      await counted.database.rows('select * from no_such_table');
      return undefined;
    });
    const failures = await Promise.allSettled([broken.submit('a', undefined), broken.submit('b', undefined)]);
    expect(failures.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    // The next batch runs as usual.
    expect(await batcher.submit('w4', undefined)).toBe('red');
  });
});
