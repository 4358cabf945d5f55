import { useEffect, useState } from 'react';
import { getJson } from '../../api/http';
import type { AuditEntry } from '../../api/types';
import { useApp } from '../../app/store-context';
import { AdminTable } from './AdminTable';
import { ErrorLine } from './parts';

const PAGE = 50;

export function AuditAdmin() {
  const { store } = useApp();
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string>();

  const load = async (before?: number) => {
    try {
      const query = new URLSearchParams({
        limit: String(PAGE),
        ...(before ? { before: String(before) } : {}),
      });
      const page = await getJson<{ entries: AuditEntry[]; next: number | null }>(`/api/audit?${query}`);
      setEntries((old) => (before ? [...old, ...page.entries] : page.entries));
      setNext(page.next);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: load is recreated each render; the first page reloads on every change
  useEffect(() => {
    void load();
    return store.onAdminEvent(() => void load());
  }, [store]);

  return (
    <section aria-labelledby="admin-audit">
      <h2 id="admin-audit">Audit log</h2>
      <ErrorLine error={error} />
      <AdminTable
        columns={[
          { header: 'When', cell: (e) => new Date(e.at).toLocaleString() },
          { header: 'Who', cell: (e) => e.actor },
          { header: 'What', cell: (e) => e.action },
          { header: 'Target', cell: (e) => e.target ?? '' },
        ]}
        rows={entries}
        rowKey={(e) => String(e.id)}
      />
      {next !== null && (
        <button type="button" onClick={() => load(next)}>
          Older entries
        </button>
      )}
    </section>
  );
}
