import { useEffect, useState } from 'react';
import { getJson } from '../../api/http';
import type { AuditEntry } from '../../api/types';
import { useApp } from '../../app/store-context';
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
      <table className="admin-table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Target</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>{new Date(e.at).toLocaleString()}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.target ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <button type="button" onClick={() => load(next)}>
          Older entries
        </button>
      )}
    </section>
  );
}
