/**
 * The one table of the administration screens: columns described once (a header and how a row fills
 * its cell), the rows, and the actions offered on each row as buttons in a last column.
 */
import type { ReactNode } from 'react';

export interface Column<Row> {
  header: string;
  cell(row: Row): ReactNode;
}

export interface RowAction<Row> {
  label: string;
  run(row: Row): void;
  /** Destructive: drawn as a danger button. */
  danger?: boolean;
  /** Offered only for the rows it holds for (default: every row). */
  when?(row: Row): boolean;
}

export interface AdminTableProps<Row> {
  columns: ReadonlyArray<Column<Row>>;
  rows: readonly Row[] | undefined;
  /** A stable key per row; also the row's `data-<keyName>` attribute, by which tests and styles find it. */
  rowKey(row: Row): string;
  keyName?: string;
  actions?: ReadonlyArray<RowAction<Row>>;
}

export function AdminTable<Row>({ columns, rows, rowKey, keyName, actions = [] }: AdminTableProps<Row>) {
  return (
    <table className="admin-table">
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.header} scope="col">
              {c.header}
            </th>
          ))}
          {actions.length > 0 && (
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {rows?.map((row) => {
          const key = rowKey(row);
          return (
            <tr key={key} {...(keyName ? { [`data-${keyName}`]: key } : {})}>
              {columns.map((c) => (
                <td key={c.header}>{c.cell(row)}</td>
              ))}
              {actions.length > 0 && (
                <td className="actions">
                  {actions
                    .filter((a) => a.when?.(row) ?? true)
                    .map((a) => (
                      <button
                        key={a.label}
                        type="button"
                        className={a.danger ? 'danger' : undefined}
                        onClick={() => a.run(row)}
                      >
                        {a.label}
                      </button>
                    ))}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
