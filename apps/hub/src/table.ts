/** Prints a list for people (aligned columns, a header) or for programs (one JSON array). */
export type Column<T> = readonly [header: string, cell: (row: T) => string];

export function printTable<T>(rows: readonly T[], json: boolean, columns: ReadonlyArray<Column<T>>): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = [
    columns.map(([header]) => header),
    ...rows.map((row) => columns.map(([, cell]) => cell(row))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  for (const line of cells) {
    process.stdout.write(
      `${line
        .map((text, i) => text.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
}
